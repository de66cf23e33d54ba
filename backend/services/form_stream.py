"""A multipart upload written straight into a staging folder, chunk by chunk (``aiofiles``),
with every limit applied while the bytes arrive: nothing is held in memory but the current
chunk, and a refused upload stops being read at once.

The parser (``python-multipart``) runs on each chunk as it comes and only notes what it saw;
the notes are then acted on asynchronously, so file writes never block the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os
from aiofiles.threadpool.binary import AsyncBufferedIOBase
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from backend.services.uploads import (
    MAX_FIELD_BYTES,
    MULTIPART_OVERHEAD,
    MalformedUpload,
    NotMultipart,
    UploadTooLarge,
)
from food_vision.datasets.sizes import human_size

WRITE_BYTES = 1024 * 1024  # gathered before each write, so a thread hop moves a useful amount
MAX_FIELDS = 8
MAX_NAME_CHARS = 255


class DatasetsFull(UploadTooLarge):
    """The datasets together would grow past their size limit."""


@dataclass(frozen=True)
class Body:
    """A request body as the web layer hands it over."""

    content_type: str
    length: int | None
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class FormLimits:
    file_bytes: int  # one file: a larger one is kept as ``too_large`` and its bytes dropped
    files: int
    request_bytes: int
    room: int  # what the datasets may still grow by


@dataclass
class StagedFile:
    filename: str
    path: Path
    size: int = 0
    too_large: bool = False


@dataclass
class StagedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[StagedFile] = field(default_factory=list)


async def receive_form(
    body: Body, staging: Path, file_field: str, limits: FormLimits
) -> StagedForm:
    """Stage every file of the field ``file_field`` in ``staging``; text fields are kept.

    Raises :class:`NotMultipart`, :class:`MalformedUpload` (also for a body that ends early),
    :class:`UploadTooLarge` or :class:`DatasetsFull`.
    """
    boundary = _boundary(body.content_type)
    if body.length is not None:
        _check_total(body.length - MULTIPART_OVERHEAD, limits)
    receiver = _Receiver(staging, file_field, limits)
    parser = MultipartParser(boundary, receiver.callbacks())
    received = 0
    try:
        async for chunk in body.chunks:
            received += len(chunk)
            _check_total(received - MULTIPART_OVERHEAD, limits)
            parser.write(chunk)
            await receiver.act()
        parser.finalize()
    except FormParserError as exc:
        raise MalformedUpload(f"malformed upload: {exc}") from None
    finally:
        await receiver.close()
    if not receiver.ended:
        raise MalformedUpload("the upload ended before its last part: send it again")
    return receiver.form


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise NotMultipart("send the photos as multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedUpload("malformed upload: the multipart boundary is missing")
    return boundary


def _check_total(size: int, limits: FormLimits) -> None:
    if size > limits.request_bytes:
        raise UploadTooLarge(
            f"the upload is larger than the {human_size(limits.request_bytes)} limit: "
            "send fewer photos at once"
        )
    if size > limits.room:
        raise DatasetsFull(
            f"the datasets would grow past their size limit ({human_size(max(limits.room, 0))} "
            "left): delete photos or datasets first"
        )


class _Receiver:
    """Acts on what the parser saw: opens, fills and closes staged files, keeps text fields."""

    def __init__(self, staging: Path, file_field: str, limits: FormLimits) -> None:
        self.staging = staging
        self.file_field = file_field
        self.limits = limits
        self.form = StagedForm()
        self.ended = False
        self._notes: list[tuple[str, bytes]] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._name = self._value = b""
        self._field: tuple[str, bytearray] | None = None
        self._file: StagedFile | None = None
        self._out: AsyncBufferedIOBase | None = None
        self._pending = bytearray()

    def callbacks(self) -> Any:
        def note(kind: str) -> Any:
            return lambda data=b"", start=0, end=0: self._notes.append((kind, data[start:end]))

        names = (
            "part_begin",
            "header_field",
            "header_value",
            "header_end",
            "headers_finished",
            "part_data",
            "part_end",
            "end",
        )
        return {f"on_{name}": note(name) for name in names}

    async def act(self) -> None:
        notes, self._notes = self._notes, []
        for kind, data in notes:
            if kind == "header_field":
                self._name += data
            elif kind == "header_value":
                self._value += data
            elif kind == "header_end":
                self._headers.append((self._name.lower(), self._value))
                self._name = self._value = b""
            elif kind == "headers_finished":
                await self._begin_part()
            elif kind == "part_data":
                await self._data(data)
            elif kind == "part_end":
                await self._end_part()
            elif kind == "end":
                self.ended = True

    async def _begin_part(self) -> None:
        disposition = next((v for k, v in self._headers if k == b"content-disposition"), b"")
        self._headers = []
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.form.fields) >= MAX_FIELDS:
                raise MalformedUpload(f"malformed upload: more than {MAX_FIELDS} text fields")
            self._field = (name, bytearray())
            return
        if name != self.file_field:
            raise MalformedUpload(f"send the files in the {self.file_field!r} field, not {name!r}")
        if len(self.form.files) >= self.limits.files:
            raise UploadTooLarge(
                f"more than {self.limits.files} files in one upload: send them in smaller batches"
            )
        filename = _shown_name(options[b"filename"].decode("utf-8", "replace"))
        staged = StagedFile(filename, self.staging / f"{len(self.form.files):06d}")
        self.form.files.append(staged)
        self._file = staged
        self._out = await aiofiles.open(staged.path, "wb")

    async def _data(self, data: bytes) -> None:
        if self._field is not None:
            if len(self._field[1]) + len(data) > MAX_FIELD_BYTES:
                raise MalformedUpload(f"the field {self._field[0]!r} is too long")
            self._field[1].extend(data)
            return
        staged = self._file
        if staged is None or staged.too_large:
            return
        staged.size += len(data)
        if staged.size > self.limits.file_bytes:
            staged.too_large = True  # reported as skipped; the rest of its bytes are dropped
            self._pending.clear()
            await self._close_file()
            await aiofiles.os.remove(staged.path)
            return
        self._pending.extend(data)
        if len(self._pending) >= WRITE_BYTES:
            await self._flush()

    async def _end_part(self) -> None:
        if self._field is not None:
            name, value = self._field
            self.form.fields[name] = value.decode("utf-8", "replace")
            self._field = None
        elif self._file is not None:
            await self._close_file()
            self._file = None

    async def _flush(self) -> None:
        if self._out is not None and self._pending:
            await self._out.write(bytes(self._pending))
        self._pending.clear()

    async def _close_file(self) -> None:
        await self._flush()
        if self._out is not None:
            await self._out.close()
            self._out = None

    async def close(self) -> None:
        """Close what is open (after a refusal too); the caller removes the staging folder."""
        self._pending.clear()
        if self._out is not None:
            await self._out.close()
            self._out = None


def _shown_name(name: str) -> str:
    """The client's file name for the report (never used on disk): printable, not too long."""
    printable = "".join(c for c in name if c.isprintable()).strip()
    return printable[-MAX_NAME_CHARS:] or "(no name)"
