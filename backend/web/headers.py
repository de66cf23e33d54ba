"""Response headers that shut what a browser would otherwise leave open: scripts only from this
server (or the pinned CDN while the local copies are absent), no inline script or style, no
framing by other sites, no content sniffing, no URLs leaked to other sites in the referrer."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontend import vendor

# The page's own policy: htmx and the app's scripts are files; charts are inline SVG.
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' blob:",  # blob: is the drop zone's preview of the chosen photo
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}
# FastAPI's /docs and /redoc pages load their viewer from a CDN and start it with an inline
# script; they show no user content, so they alone may run inline code.
DOCS_SOURCES = "'self' 'unsafe-inline' https://cdn.jsdelivr.net"
DOCS_POLICY = {
    **PAGE_POLICY,
    "script-src": DOCS_SOURCES,
    "style-src": f"{DOCS_SOURCES} https://fonts.googleapis.com",
    "font-src": "https://fonts.gstatic.com",
    "img-src": "'self' data: https:",
    "worker-src": "blob:",
}
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends ``Origin: null`` on form
    # posts, which the cross-site check would refuse.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def serialise(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {sources}" for name, sources in policy.items())


@functools.cache
def page_policy() -> str:
    """The page's Content-Security-Policy, allowing the CDN only for the scripts it serves."""
    origins = sorted(
        {
            f"{parts.scheme}://{parts.netloc}"
            for parts in (urlsplit(script.src) for script in vendor.page_scripts())
            if parts.netloc
        }
    )
    return serialise({**PAGE_POLICY, "script-src": " ".join(["'self'", *origins])})


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.docs_policy = serialise(DOCS_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in self.docs_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                policy = self.docs_policy if docs else page_policy()
                for name, value in {"Content-Security-Policy": policy, **FIXED_HEADERS}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
