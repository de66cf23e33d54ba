"""Error responses from the one table (``backend.web.error_table``), as JSON, the same bodies
and statuses as the FastAPI layer's; a view's pydantic validation error is a 422 naming
each field."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from backend.flask_web.service_loop import NotReady
from backend.web.error_table import (
    STATUSES,
    error_body,
    retry_headers,
    status_for,
    validation_detail,
)

log = logging.getLogger("foodvision.server")
SERVER_ERROR = 500


class BodyInvalid(ValueError):
    """A JSON body that does not fit its model; carries the fields' messages."""

    def __init__(self, detail: list[dict[str, object]]) -> None:
        super().__init__("invalid body")
        self.detail = detail

    @classmethod
    def of(cls, exc: ValidationError) -> BodyInvalid:
        return cls(validation_detail(exc.errors(), ("body",)))


def json_error(body: object, status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def install(app: Flask) -> None:
    def service_error(exc: Exception) -> Response:
        return json_error(error_body(exc), status_for(exc), retry_headers(exc))

    for cls in STATUSES:
        app.register_error_handler(cls, service_error)

    @app.errorhandler(BodyInvalid)
    def invalid_body(exc: BodyInvalid) -> Response:
        return json_error({"detail": exc.detail}, 422)

    @app.errorhandler(NotReady)
    def not_ready(exc: NotReady) -> Response:
        return json_error({"detail": str(exc)}, 503, {"Retry-After": "1"})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return json_error({"detail": exc.name}, exc.code or SERVER_ERROR)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_error({"detail": "Internal Server Error"}, SERVER_ERROR)
