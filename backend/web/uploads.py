"""The request body as the services take it: content type, declared length and chunks."""

from __future__ import annotations

from starlette.requests import Request

from backend.services.form_stream import Body


def request_body(request: Request) -> Body:
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    return Body(request.headers.get("content-type", ""), length, request.stream())
