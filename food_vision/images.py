"""Turning any image Pillow can read into the RGB picture a person sees."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

WHITE = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """EXIF orientation applied, first frame only, any mode converted to 8-bit RGB.

    Transparency is composited onto white (as a viewer shows it) and 16/32-bit greyscale is
    scaled down rather than clipped.
    """
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_8bit(image).convert("RGB")
    if mode == "P" or mode == "PA" or mode in ("LA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, WHITE)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
    if image.mode in ("I", "F") and pixels.max() <= 255:
        top = 255.0
    scaled = np.clip(pixels / top * 255.0, 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def open_image(source: Path | bytes | BinaryIO) -> Image.Image:
    """Decode fully (so errors surface here, not later) and return RGB."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with Image.open(source) as image:
        image.load()
        rgb = to_rgb(image)
        return rgb.copy() if rgb is image else rgb
