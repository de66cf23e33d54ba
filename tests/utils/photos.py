"""Photos as phones and cameras write them, generated with Pillow (HEIC with pillow-heif's
encoder, registered by ``food_vision.images``): every accepted format, odd modes, camera-sized
JPEGs, and a class's worth of distinct photos."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

import food_vision.images  # noqa: F401  (registers the HEIC encoder and decoder)
from food_vision.datasets.intake import split_for
from food_vision.datasets.manifest import DEFAULT_TEST_FRACTION
from tests.utils.factories import image_bytes as encode

# File extension -> Pillow format, for every format the app accepts.
FORMATS = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "bmp": "BMP",
    "tif": "TIFF",
    "avif": "AVIF",
    "heic": "HEIF",
}
HUES = {"pizza": (200, 60, 30), "steak": (110, 50, 40), "sushi": (235, 235, 225)}


def picture(
    seed: int, size: tuple[int, int] = (96, 72), tint: tuple[int, ...] = (128, 128, 128)
) -> Image.Image:
    """A small, seeded picture: a tinted background with coloured blocks."""
    rng = np.random.default_rng(seed)
    width, height = size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = tint
    for _ in range(6):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        pixels[y : y + height // 4, x : x + width // 4] = rng.integers(0, 256, 3)
    return Image.fromarray(pixels)


def every_format(seed: int = 0, size: tuple[int, int] = (96, 72)) -> dict[str, bytes]:
    """One distinct photo per accepted format, named ``photo.<ext>``."""
    return {
        f"photo.{ext}": encode(picture(seed + index, size), fmt)
        for index, (ext, fmt) in enumerate(FORMATS.items())
    }


def class_photos(label: str, count: int, *, size: tuple[int, int] = (96, 72)) -> dict[str, bytes]:
    """``count`` JPEGs of one class (its own tint), at least one of which the content-hash
    split sends to test, so a dataset of them can train."""
    photos: dict[str, bytes] = {}
    seed = sum(map(ord, label)) * 1000
    while len(photos) < count or not any(_is_test(data) for data in photos.values()):
        photos[f"{label}_{len(photos):02d}.jpg"] = encode(
            picture(seed + len(photos), size, HUES.get(label, (90, 160, 90))), "JPEG", quality=90
        )
        if len(photos) > count + 50:
            raise AssertionError(f"no photo of {label} goes to test")
    return photos


def _is_test(data: bytes) -> bool:
    image_id = hashlib.sha256(data).hexdigest()[:32]
    return split_for(image_id, DEFAULT_TEST_FRACTION) == "test"


def camera_jpeg(width: int, height: int, seed: int = 0, quality: int = 92) -> bytes:
    """A camera-like JPEG: smooth shapes and light sensor noise, so it compresses like a photo
    (a 12 MP one is a few megabytes)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 256 + 2, width // 256 + 2, 3), dtype=np.uint8)
    smooth = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (height, width, 1)).astype(np.int16)
    pixels = np.clip(np.asarray(smooth, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=quality)
