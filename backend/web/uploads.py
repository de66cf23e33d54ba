"""Reading a multipart upload whose size is limited while it streams in: a client that sends
the whole body before reading still gets its refusal, and the server reads no further."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.types import Message

from backend.services.uploads import (
    MAX_FIELD_BYTES,
    MULTIPART_OVERHEAD,
    MalformedUpload,
    NotMultipart,
    check_size,
)


def limited_receive(
    receive: Callable[[], Awaitable[Message]], max_bytes: int
) -> Callable[[], Awaitable[Message]]:
    """``receive`` that stops a body growing past the limit, with a Content-Length or not."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            check_size(seen - MULTIPART_OVERHEAD, max_bytes)
        return message

    return receive_limited


async def read_form(request: Request, max_bytes: int) -> FormData:
    """The multipart form, refused as soon as it is known to be too large or malformed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_size(int(declared) - MULTIPART_OVERHEAD, max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise NotMultipart("send the image as multipart/form-data with a 'file' field")
    limited = Request(request.scope, limited_receive(request.receive, max_bytes))
    try:
        return await limited.form(max_files=1, max_fields=8, max_part_size=MAX_FIELD_BYTES)
    except MultiPartException as exc:
        raise MalformedUpload(f"malformed upload: {exc}") from None


def text_field(form: FormData, name: str) -> str | None:
    """A form field's value as text, None when absent."""
    value = form.get(name)
    return None if value is None else str(value)
