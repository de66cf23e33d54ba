"""Request bodies as the services take them: a JSON body validated by its pydantic model,
and a streamed upload (read from the WSGI input in chunks, never whole)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import IO, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from backend.flask_web.errors import BodyInvalid
from backend.services.form_stream import Body

M = TypeVar("M", bound=BaseModel)
CHUNK_BYTES = 64 * 1024


def json_body(model: type[M]) -> M:
    """The body as ``model``; 422 naming each wrong field, or saying it is not JSON."""
    try:
        data = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BodyInvalid(
            [{"loc": ["body"], "msg": "the body is not valid JSON", "type": "json_invalid"}]
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BodyInvalid.of(exc) from None


def request_body() -> Body:
    """The body for the services' upload readers, which apply their limits as it arrives."""
    return Body(request.content_type or "", request.content_length, _chunks(request.stream))


async def _chunks(stream: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(stream.read, CHUNK_BYTES):
        yield chunk
