from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.services.uploads import (
    CannotDecode,
    NotAnImage,
    UploadRejected,
    UploadTooLarge,
    check_size,
    decode_image,
)
from backend.web.error_table import status_for
from tests.utils.factories import patterned_image
from tests.utils.photos import every_format

LIMIT = 40_000_000
SIDE = 224  # the default model's input


def decoded(data: bytes) -> Image.Image:
    return decode_image(data, max_pixels=LIMIT, min_side=SIDE)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a pixel bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 100)
    idat_chunk = b"IDAT" + idat
    body += struct.pack(">I", len(idat)) + idat_chunk + struct.pack(">I", zlib.crc32(idat_chunk))
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize(
    ("fmt", "mode", "save"),
    [
        ("PNG", "RGB", {}),
        ("JPEG", "RGB", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "L", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "I;16", {}),
        ("GIF", "P", {}),
        ("WEBP", "RGB", {}),
        ("BMP", "RGB", {}),
    ],
)
def test_every_accepted_mode_becomes_rgb(fmt, mode, save):
    image = decoded(patterned_image(fmt, mode=mode, **save))
    assert image.mode == "RGB" and image.size == (48, 40)


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 0, 0] * 256)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    assert decoded(buffer.getvalue()).getpixel((0, 0)) == (255, 255, 255)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    red, _green, blue = decoded(buffer.getvalue()).getpixel((4, 4))
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert decoded(buffer.getvalue()).size == (20, 40)


@pytest.mark.parametrize(
    "data",
    [
        b"just some text pretending to be a jpeg",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"<!doctype html><html><body>hi</body></html>",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        b"",
    ],
)
def test_non_images_are_415(data):
    with pytest.raises(NotAnImage) as info:
        decoded(data)
    assert status_for(info.value) == 415


@pytest.mark.parametrize("name", sorted(every_format()))
def test_every_format_a_phone_writes_is_accepted(name):
    assert decoded(every_format()[name]).mode == "RGB"


def test_an_unaccepted_format_is_415():
    with pytest.raises(NotAnImage, match="ICO images are not accepted") as info:
        decoded(patterned_image("ICO"))
    assert status_for(info.value) == 415


def test_a_48_megapixel_jpeg_is_decoded_reduced_to_the_models_input():
    photo = patterned_image("JPEG", size=(8064, 6048), mode="L")
    assert decoded(photo).size == (1008, 756)  # decoded at 1/8
    assert decode_image(photo, max_pixels=LIMIT, min_side=800).size == (2016, 1512)  # at 1/4


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_422(fmt):
    data = patterned_image(fmt, size=(256, 256))
    with pytest.raises(CannotDecode, match="cannot decode image") as info:
        decoded(data[: len(data) // 2])
    assert status_for(info.value) == 422


def test_pixel_bomb_is_refused_from_its_header():
    bomb = png_header_only(7_000, 7_000)
    assert len(bomb) < 200
    with pytest.raises(UploadTooLarge, match="7000x7000") as info:
        decoded(bomb)
    assert status_for(info.value) == 413


def test_extreme_bomb_caught_by_pillow_is_also_413():
    with pytest.raises(UploadTooLarge):
        decoded(png_header_only(100_000, 100_000))


def test_size_limit_message_names_the_limit():
    check_size(10 * 1024 * 1024, 10 * 1024 * 1024)
    with pytest.raises(UploadTooLarge, match="10 MB limit"):
        check_size(10 * 1024 * 1024 + 1, 10 * 1024 * 1024)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_escape_as_other_errors(data):
    try:
        image = decoded(data)
    except UploadRejected as exc:
        assert 400 <= status_for(exc) < 500
    else:
        assert image.mode == "RGB"
