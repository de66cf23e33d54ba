"""Error responses that always serialise: service errors get their HTTP status from the one
table (``error_table``), and validation errors never echo non-JSON input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from backend.web.error_table import (
    STATUSES,
    error_body,
    retry_headers,
    status_for,
    validation_detail,
)


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """The exception's body and status; an overload says when to retry."""
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=retry_headers(exc))


def install(app: FastAPI) -> None:
    """Answer every exception class of the table with its status."""
    for cls in STATUSES:
        app.add_exception_handler(cls, service_error)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 listing each field and its message (the offending input is not echoed back)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)
