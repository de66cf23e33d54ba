"""A multipart form held in memory (predictions: one image and a few fields), limited while
it streams in: a client that sends the whole body before reading still gets its refusal, and
the server reads no further. Parsing (python-multipart) runs in a worker thread, so a burst of
uploads does not hold up the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, create_form_parser

from backend.services.form_stream import Body
from backend.services.uploads import (
    MAX_FIELD_BYTES,
    MULTIPART_OVERHEAD,
    MalformedUpload,
    NotMultipart,
    check_size,
)

MAX_FIELDS = 8


@dataclass(frozen=True)
class UploadForm:
    """A parsed multipart form: its text fields, and its file (name, bytes) if it had one."""

    fields: dict[str, str]
    file: tuple[str, bytes] | None = None

    def text(self, name: str) -> str | None:
        """A text field's value, None when absent."""
        return self.fields.get(name)


async def read_form(body: Body, max_bytes: int) -> UploadForm:
    """The multipart form, refused as soon as it is known to be too large or malformed."""
    if body.length is not None:
        check_size(body.length - MULTIPART_OVERHEAD, max_bytes)
    if not body.content_type.startswith("multipart/form-data"):
        raise NotMultipart("send the image as multipart/form-data with a 'file' field")
    chunks: list[bytes] = []
    seen = 0
    async for chunk in body.chunks:
        seen += len(chunk)
        check_size(seen - MULTIPART_OVERHEAD, max_bytes)
        chunks.append(chunk)
    return await asyncio.to_thread(parse_form, body.content_type, chunks)


def parse_form(content_type: str, chunks: list[bytes]) -> UploadForm:
    """The fields and the (single) file of a multipart body, all in memory: the body's size
    was checked while it arrived."""
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []

    def on_field(field: Field) -> None:
        value = field.value or b""
        if len(value) > MAX_FIELD_BYTES:
            raise MalformedUpload(
                f"malformed upload: a field is larger than {MAX_FIELD_BYTES // 1024} KB"
            )
        if len(fields) >= MAX_FIELDS:
            raise MalformedUpload(
                f"malformed upload: Too many fields. Maximum number of fields is {MAX_FIELDS}."
            )
        fields[_text(field.field_name)] = _text(value)

    def on_file(file: File) -> None:
        if files:
            raise MalformedUpload("malformed upload: Too many files: send one image at a time.")
        file.file_object.seek(0)
        files.append((_text(file.file_name), file.file_object.read()))

    try:
        parser = create_form_parser(
            {"Content-Type": content_type.encode("latin-1")},
            on_field,
            on_file,
            config={"MAX_MEMORY_FILE_SIZE": float("inf")},  # never spooled to disk
        )
        for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, UnicodeEncodeError) as exc:
        raise MalformedUpload(f"malformed upload: {exc}") from None
    return UploadForm(fields, files[0] if files else None)


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")
