"""Error responses that always serialise: validation errors never echo non-JSON input."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 listing each field and its message (the offending input is not echoed back)."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)
