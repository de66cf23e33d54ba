"""Parsing a multipart upload off the event loop: the fields and the one file it may carry,
and a clear refusal for anything else."""

from __future__ import annotations

import pytest

from backend.services.upload_form import MAX_FIELDS, MalformedUpload, UploadForm, parse_form

BOUNDARY = "xyz"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def chunked(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_fields_and_the_file_arrive_whole_across_chunks() -> None:
    photo = bytes(range(256)) * 40
    data = body(part("model", b"run-1"), part("top_k", b"5"), part("file", photo, "p\u00e9.jpg"))
    form = parse_form(CONTENT_TYPE, chunked(data))
    assert form == UploadForm({"model": "run-1", "top_k": "5"}, ("p\u00e9.jpg", photo))
    assert form.text("model") == "run-1" and form.text("sample") is None


def test_a_form_without_a_file_has_none() -> None:
    assert parse_form(CONTENT_TYPE, [body(part("sample", b"tiny/pizza_0.jpg"))]).file is None


@pytest.mark.parametrize(
    ("content_type", "data", "message"),
    [
        (CONTENT_TYPE, body(part("file", b"a", "a.jpg"), part("file", b"b", "b.jpg")),
         "Too many files"),
        (CONTENT_TYPE, body(*(part(f"f{i}", b"x") for i in range(MAX_FIELDS + 1))),
         "Too many fields"),
        (CONTENT_TYPE, body(part("model", b"m" * 70_000)), "larger than 64 KB"),
        ("multipart/form-data", body(part("model", b"m")), "No boundary"),
        (CONTENT_TYPE, b"--xyz\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xyz--\r\n",
         "name not found"),
        (CONTENT_TYPE, b"not a multipart body at all", "malformed upload"),
    ],
    ids=["two-files", "too-many-fields", "huge-field", "no-boundary", "unnamed-part", "garbage"],
)  # fmt: skip
def test_what_cannot_be_used_is_refused_with_a_reason(
    content_type: str, data: bytes, message: str
) -> None:
    with pytest.raises(MalformedUpload, match="malformed upload") as refused:
        parse_form(content_type, chunked(data, 1000))
    assert message in str(refused.value)
