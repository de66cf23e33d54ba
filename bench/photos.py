"""Photos at the size people upload them (1 to 3 megapixels, camera-like JPEGs), made from a
folder of real photos (``--photos``, e.g. a Food-101 subset) or from the generated demo.

Food-101 and the demo are small (at most 512 px), so each source is scaled up to a phone
camera's frame with a little sensor grain: decoding cost follows the pixel count, and the
grain gives the file a photo's size rather than a drawing's.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

SIZES = ((1280, 960), (1632, 1224), (2048, 1536))  # 1.2, 2.0 and 3.1 megapixels
QUALITY = 90
GRAIN = 4.0  # standard deviation, in 8-bit levels
SUFFIXES = {".jpg", ".jpeg", ".png"}


def sources(folder: Path, count: int) -> list[Path]:
    """``count`` images of ``folder`` (searched recursively), spread over its classes."""
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not found:
        raise SystemExit(f"no photos under {folder}")
    step = max(1, len(found) // count)
    return found[::step][:count]


def camera_size(path: Path, size: tuple[int, int], seed: int) -> bytes:
    """``path`` scaled to ``size`` (landscape or portrait like the source), grain, JPEG."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    width, height = size if rgb.width >= rgb.height else size[::-1]
    scaled = np.asarray(rgb.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    grain = np.random.default_rng(seed).normal(0.0, GRAIN, scaled.shape).astype(np.float32)
    photo = Image.fromarray(np.clip(scaled + grain, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=QUALITY)
    return buffer.getvalue()


def make_photos(folder: Path, count: int) -> list[tuple[str, bytes]]:
    """(file name, JPEG bytes) of ``count`` real-size photos made from ``folder``."""
    return [
        (f"{path.stem}.jpg", camera_size(path, SIZES[index % len(SIZES)], seed=index))
        for index, path in enumerate(sources(folder, count))
    ]
