"""The ``Host`` allowlist: a request must name this server, so that a web page whose domain
was re-pointed at 127.0.0.1 (DNS rebinding) cannot reach a local app through the browser."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # load balancers probe these by address
POLICY_VIOLATION = 1008


def host_name(header: str) -> str:
    """The name in a ``Host`` header: port and IPv6 brackets removed, lower case, no final
    dot (``LocalHost.:8000`` → ``localhost``, ``[::1]:8000`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        name = header[1 : header.find("]")] if "]" in header else header[1:]
    elif header.count(":") == 1:
        name = header.split(":", 1)[0]
    else:
        name = header
    return name.rstrip(".")


class HostAllowlist:
    """Names as configured: exact (``app.example.com``), a suffix (``*.example.com``) or ``*``."""

    def __init__(self, names: Iterable[str]) -> None:
        normalised = {host_name(name) for name in names}
        self.any = "*" in normalised
        self.suffixes = tuple(name[1:] for name in normalised if name.startswith("*."))
        self.exact = frozenset(name for name in normalised if not name.startswith("*"))

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        if not header:
            return False
        name = host_name(header)
        return name in self.exact or (bool(name) and name.endswith(self.suffixes))


def refusal_message(header: str) -> str:
    shown = header[:100] or "(none)"
    return (
        f"this server does not answer to the host name {shown!r}; "
        "add it to FOODVISION_ALLOWED_HOSTS to allow it"
    )


class HostAllowlistMiddleware:
    """400 (or a refused WebSocket) for a ``Host`` that is not on the allowlist."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.allowlist = HostAllowlist(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if self.allowlist.allows(header):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        response = JSONResponse({"detail": refusal_message(header)}, status_code=400)
        await response(scope, receive, send)
