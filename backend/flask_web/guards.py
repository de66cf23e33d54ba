"""Every request's checks, as the FastAPI layer's middleware makes them: the ``Host``
allowlist, the optional token, cross-site refusal (``Origin``, ``Sec-Fetch-Site``) and the
security headers on every response. A refused WebSocket upgrade is answered 403."""

from __future__ import annotations

from flask import Flask, Response, jsonify, redirect, request

from backend.web import hosts, security
from backend.web.headers import FIXED_HEADERS, docs_policy, page_policy

FORBIDDEN = 403


def install(
    app: Flask, *, allowed_hosts: list[str], token: str | None, docs: frozenset[str]
) -> None:
    allowlist = hosts.HostAllowlist(allowed_hosts)

    @app.before_request
    def check_host() -> Response | None:
        header = request.headers.get("Host", "")
        if request.path in hosts.OPEN_PATHS or allowlist.allows(header):
            return None
        if is_websocket():
            return Response(status=FORBIDDEN)
        return refusal(hosts.refusal_message(header), 400)

    @app.before_request
    def check_token() -> Response | None:
        if token is None or security.is_open_path(request.path):
            return None
        presented = security.bearer_or_cookie(
            request.headers.get("Authorization", ""), request.cookies
        )
        if security.token_matches(presented, token):
            return None
        if is_websocket():
            return Response(status=FORBIDDEN)
        if request.method == "GET" and request.path == "/":
            return redirect("/login", code=303)  # type: ignore[return-value]
        response = refusal(security.TOKEN_REQUIRED, 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.before_request
    def check_site() -> Response | None:
        if request.method in security.SAFE_METHODS and not is_websocket():
            return None
        reason = security.cross_site_reason(
            request.headers.get("Origin"),
            request.headers.get("Host", ""),
            request.headers.get("Sec-Fetch-Site"),
        )
        if reason is None:
            return None
        if is_websocket():
            return Response(status=FORBIDDEN)
        return refusal(security.cross_site_refusal(reason), FORBIDDEN)

    @app.after_request
    def add_headers(response: Response) -> Response:
        policy = docs_policy() if request.path in docs else page_policy()
        for name, value in {"Content-Security-Policy": policy, **FIXED_HEADERS}.items():
            response.headers.setdefault(name, value)
        return response


def is_websocket() -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def refusal(detail: str, status: int) -> Response:
    response = jsonify({"detail": detail})
    response.status_code = status
    return response
