"""Multipart uploads streamed into a staging folder: files land whole, limits apply while the
bytes arrive (with and without a declared length), and malformed bodies are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.services.form_stream import (
    Body,
    DatasetsFull,
    FormLimits,
    receive_form,
)
from backend.services.uploads import MalformedUpload, NotMultipart, UploadTooLarge
from backend.web.error_table import status_for

BOUNDARY = "b0undary"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"
ROOMY = FormLimits(file_bytes=10_000, files=10, request_bytes=10**6, room=10**6)


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for field, name, data in files
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def body(data: bytes, *, declared: bool = True, content_type: str = TYPE) -> Body:
    return Body(content_type, len(data) if declared else None, chunks(data))


async def test_files_land_whole_in_staging_and_fields_are_kept(tmp_path: Path) -> None:
    data = multipart(
        {"label": "Crème brûlée"},
        [("files", "a.jpg", b"\xff\xd8" * 3000), ("files", "dir/b.png", b"png-bytes")],
    )
    form = await receive_form(body(data), tmp_path, "files", ROOMY)
    assert form.fields == {"label": "Crème brûlée"}
    assert [(f.filename, f.size, f.path.read_bytes()[:2]) for f in form.files] == [
        ("a.jpg", 6000, b"\xff\xd8"),
        ("dir/b.png", 9, b"pn"),
    ]


async def test_a_file_over_its_limit_is_marked_and_dropped_not_kept(tmp_path: Path) -> None:
    data = multipart({}, [("files", "big.jpg", b"x" * 20_000), ("files", "ok.jpg", b"y")])
    form = await receive_form(body(data), tmp_path, "files", ROOMY)
    big, ok = form.files
    assert big.too_large and not big.path.exists()
    assert not ok.too_large and ok.path.read_bytes() == b"y"


@pytest.mark.parametrize("declared", [True, False])
async def test_a_request_over_its_limit_is_refused_while_it_streams(
    tmp_path: Path, declared: bool
) -> None:
    limits = FormLimits(file_bytes=10**7, files=10, request_bytes=1000, room=10**7)
    data = multipart({}, [("files", "a.jpg", b"x" * 200_000)])
    with pytest.raises(UploadTooLarge, match="larger than the 1000 bytes limit") as info:
        await receive_form(body(data, declared=declared), tmp_path, "files", limits)
    assert status_for(info.value) == 413


@pytest.mark.parametrize("declared", [True, False])
async def test_the_datasets_size_limit_applies_while_streaming(
    tmp_path: Path, declared: bool
) -> None:
    limits = FormLimits(file_bytes=10**7, files=10, request_bytes=10**7, room=5000)
    data = multipart({}, [("files", "a.jpg", b"x" * 200_000)])
    with pytest.raises(DatasetsFull, match="size limit") as info:
        await receive_form(body(data, declared=declared), tmp_path, "files", limits)
    assert status_for(info.value) == 413


async def test_too_many_files_are_refused(tmp_path: Path) -> None:
    data = multipart({}, [("files", f"{n}.jpg", b"x") for n in range(11)])
    with pytest.raises(UploadTooLarge, match="more than 10 files"):
        await receive_form(body(data), tmp_path, "files", ROOMY)


@pytest.mark.parametrize(
    ("data", "content_type", "error", "reason"),
    [
        (b"{}", "application/json", NotMultipart, "multipart/form-data"),
        (b"--x--", "multipart/form-data", MalformedUpload, "boundary is missing"),
        (multipart({}, [("files", "a.jpg", b"x" * 100)])[:-30], TYPE, MalformedUpload, "ended"),
        (multipart({}, [("photo", "a.jpg", b"x")]), TYPE, MalformedUpload, "'files' field"),
        (multipart({"label": "x" * 70_000}, []), TYPE, MalformedUpload, "too long"),
        (multipart({f"f{n}": "x" for n in range(9)}, []), TYPE, MalformedUpload, "text fields"),
    ],
)
async def test_malformed_bodies_are_refused_with_the_reason(
    tmp_path: Path, data: bytes, content_type: str, error: type, reason: str
) -> None:
    with pytest.raises(error, match=reason) as info:
        await receive_form(body(data, content_type=content_type), tmp_path, "files", ROOMY)
    assert 400 <= status_for(info.value) < 500
