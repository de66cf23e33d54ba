"""Cross-site refusal (Origin, Sec-Fetch-Site) and the optional access token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POLICY_VIOLATION = 1008


def cross_site_reason(origin: str | None, host: str, fetch_site: str | None) -> str | None:
    """Why a request or WebSocket comes from another site, or None when nothing says so.

    ``Origin`` must name this host; browsers also mark cross-site requests with
    ``Sec-Fetch-Site``, which stays when a client or proxy strips ``Origin``.
    """
    if origin is not None and urlsplit(origin).netloc != host:
        return "Origin does not match this host"
    if fetch_site == "cross-site":
        return "Sec-Fetch-Site says cross-site"
    return None


def _scope_reason(scope: Scope) -> str | None:
    headers = Headers(scope=scope)
    return cross_site_reason(
        headers.get("origin"), headers.get("host", ""), headers.get("sec-fetch-site")
    )


class CrossSiteMiddleware:
    """A state-changing request or a WebSocket from another site is refused (403 or 1008):
    CORS does not cover form posts or WebSockets, so the server must check them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope["method"] not in SAFE_METHODS
        )
        reason = _scope_reason(scope) if checked else None
        if reason is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
        else:
            response = JSONResponse({"detail": cross_site_refusal(reason)}, status_code=403)
            await response(scope, receive, send)


def cross_site_refusal(reason: str) -> str:
    return f"cross-site request refused: {reason}"


TOKEN_COOKIE = "foodvision_token"
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_TOKEN_CHARS = 1000
WRONG_TOKEN = "That token is not right."
TOKEN_REQUIRED = "a valid token is required (Authorization: Bearer <token>)"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/login", "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so response timing does not reveal the token."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


def presented_token(scope: Scope) -> str | None:
    """A bearer header, else the sign-in cookie (browsers send it on WebSocket upgrades too)."""
    connection = HTTPConnection(scope)
    return bearer_or_cookie(connection.headers.get("authorization", ""), connection.cookies)


def bearer_or_cookie(authorization: str, cookies: Mapping[str, str]) -> str | None:
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return cookies.get(TOKEN_COOKIE)


class TokenAuthMiddleware:
    """With ``FOODVISION_TOKEN`` set, everything but health, sign-in and static files needs it."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        if token_matches(presented_token(scope), self.token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "token required"})
            return
        if scope["method"] == "GET" and scope["path"] == "/":
            response: Response = RedirectResponse("/login", status_code=303)
        else:
            response = JSONResponse(
                {"detail": TOKEN_REQUIRED},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        await response(scope, receive, send)

    @staticmethod
    def _is_open(path: str) -> bool:
        return is_open_path(path)


def is_open_path(path: str) -> bool:
    """Health, sign-in and static files need no token."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def token_cookie(token: str, *, https: bool) -> dict[str, Any]:
    """``set_cookie``'s arguments for the sign-in cookie (Starlette's and Werkzeug's alike)."""
    return {
        "key": TOKEN_COOKIE,
        "value": token,
        "max_age": COOKIE_MAX_AGE,
        "httponly": True,
        "samesite": "strict",
        "secure": https,
    }
