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
# The /docs and /redoc pages start their viewer with an inline script and style it inline;
# they show no user content, so they alone may run inline code. ReDoc runs a blob: worker.
DOCS_PATHS = frozenset({"/docs", "/redoc"})  # pages that get the docs' own policy
DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
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


def _origins(urls: list[str]) -> list[str]:
    """The other origins among ``urls`` (the CDN, while the local copies are absent)."""
    return sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.netloc})


@functools.cache
def page_policy() -> str:
    """The page's Content-Security-Policy, allowing the CDN only for the scripts it serves."""
    origins = _origins([script.src for script in vendor.page_scripts()])
    return serialise({**PAGE_POLICY, "script-src": " ".join(["'self'", *origins])})


@functools.cache
def docs_policy() -> str:
    """The API docs' policy: their pinned viewers (local, else the CDN) and inline start-up."""
    sources = " ".join(
        ["'self'", "'unsafe-inline'", *_origins(list(map(vendor.asset_url, DOCS_FILES)))]
    )
    return serialise(
        {
            **PAGE_POLICY,
            "script-src": sources,
            "style-src": sources,
            "img-src": "'self' data:",
            "worker-src": "blob:",
        }
    )


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in self.docs_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                policy = docs_policy() if docs else page_policy()
                for name, value in {"Content-Security-Policy": policy, **FIXED_HEADERS}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
