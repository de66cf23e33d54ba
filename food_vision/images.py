"""Opening any photo a phone or camera makes as the RGB picture a person sees, in bounded memory.

Formats: JPEG, PNG, GIF (first frame), WebP, BMP, TIFF, AVIF (Pillow's own) and HEIC/HEIF
(``pillow-heif``, registered with Pillow here). A JPEG is decoded at a reduced scale when the
caller needs fewer pixels (``Image.draft``: 1/2, 1/4 or 1/8 inside the decoder), so a 48 or
200 megapixel photo costs what its reduced size costs; the pixel limit guards what is really
decoded. Other formats have no reduced decoding, so their full size must fit the limit.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

pillow_heif.register_heif_opener()

WHITE = (255, 255, 255)
# Pillow's format name -> (the name people know, the extension a stored file gets).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("JPEG", ".jpg"),
    "MPO": ("JPEG", ".jpg"),  # a JPEG with extra pictures after the first (many phones)
    "PNG": ("PNG", ".png"),
    "GIF": ("GIF", ".gif"),
    "WEBP": ("WebP", ".webp"),
    "BMP": ("BMP", ".bmp"),
    "TIFF": ("TIFF", ".tif"),
    "AVIF": ("AVIF", ".avif"),
    "HEIF": ("HEIC", ".heic"),
}
ACCEPTED_TEXT = ", ".join(dict.fromkeys(name for name, _ in FORMATS.values()))
IMAGE_EXTENSIONS: tuple[str, ...] = (
    *dict.fromkeys(ext for _, ext in FORMATS.values()),
    ".jpeg",
    ".tiff",
    ".heif",
    ".hif",
)
CORRUPT = "cannot decode image: the file is truncated or corrupt"
_JPEG_MAGIC = b"\xff\xd8\xff"
# Starts of files that are images of an accepted kind: unreadable ones are corrupt, not "not
# an image" (the ISO base media box ``ftyp`` begins HEIC and AVIF files at byte 4).
_IMAGE_MAGIC = (_JPEG_MAGIC, b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    TypeError,
    IndexError,
    KeyError,
    struct.error,
    ZeroDivisionError,
    Image.DecompressionBombError,
)


class ImageRejected(ValueError):
    """Why a file cannot be used as a picture, in words a person understands."""


class NotAnImage(ImageRejected):
    """Empty, not an image at all, or an image in a format that is not accepted."""


class CorruptImage(ImageRejected):
    """An image of an accepted kind whose data is truncated or damaged."""


class TooManyPixels(ImageRejected):
    """Decoding would need more pixels than the limit allows (a decompression bomb, say)."""


@dataclass(frozen=True)
class Photo:
    """A decoded picture: RGB, turned upright, maybe reduced; with what the file holds."""

    image: Image.Image
    format: str
    stored_size: tuple[int, int]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


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


def load_photo(
    source: Path | bytes | BinaryIO, *, max_pixels: int | None = None, min_side: int | None = None
) -> Photo:
    """Decode fully (so errors surface here, not later) into an RGB :class:`Photo`.

    ``min_side``: the shorter side the caller needs; a JPEG larger than that is decoded at the
    smallest scale that still gives it. ``max_pixels`` (default: Pillow's own limit) bounds the
    pixels decoded. Raises :class:`ImageRejected` (a subclass) with the reason.
    """
    limit = max_pixels or Image.MAX_IMAGE_PIXELS or 0
    with contextlib.ExitStack() as stack:
        fp = _binary(source, stack)
        image = stack.enter_context(_open(fp))
        if image.format not in FORMATS:
            raise NotAnImage(
                f"{image.format} images are not accepted; accepted formats: {ACCEPTED_TEXT}"
            )
        stored = image.size
        if min_side and isinstance(image, JpegImagePlugin.JpegImageFile):
            image.draft(image.mode, (min_side, min_side))
        _check_pixels(image.size, stored, limit)
        try:
            image.load()
            rgb = to_rgb(image)
        except _DECODE_ERRORS:
            raise CorruptImage(CORRUPT) from None
        return Photo(rgb.copy() if rgb is image else rgb, str(image.format), stored)


def open_image(
    source: Path | bytes | BinaryIO, *, max_pixels: int | None = None, min_side: int | None = None
) -> Image.Image:
    """The picture of :func:`load_photo` alone."""
    return load_photo(source, max_pixels=max_pixels, min_side=min_side).image


def verify_image(path: Path) -> str:
    """The format of an accepted image whose structure Pillow finds sound, without decoding
    its pixels (quick enough to run over a whole dataset); :class:`ImageRejected` if not."""
    with path.open("rb") as fp, _open(fp) as image:
        if image.format not in FORMATS:
            raise NotAnImage(f"{image.format} images are not accepted")
        try:
            image.verify()
        except _DECODE_ERRORS:
            raise CorruptImage(CORRUPT) from None
        return str(image.format)


def _binary(source: Path | bytes | BinaryIO, stack: contextlib.ExitStack) -> BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, Path):
        return stack.enter_context(source.open("rb"))
    return source


def _open(fp: BinaryIO) -> Image.Image:
    """The image's header, read: a JPEG skips Pillow's size check, which waits for the draft."""
    start = fp.tell()
    head = fp.read(16)
    fp.seek(start)
    if not head:
        raise NotAnImage("the file is empty")
    try:
        if head.startswith(_JPEG_MAGIC):
            return JpegImagePlugin.JpegImageFile(fp)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(f"the image has too many pixels to decode ({exc})") from None
    except UnidentifiedImageError:
        if head.startswith(_IMAGE_MAGIC) or head[4:8] == b"ftyp" or head[8:12] == b"WEBP":
            raise CorruptImage(CORRUPT) from None
        raise NotAnImage(f"the file is not an image; accepted formats: {ACCEPTED_TEXT}") from None
    except _DECODE_ERRORS:
        raise CorruptImage(CORRUPT) from None


def _check_pixels(size: tuple[int, int], stored: tuple[int, int], limit: int) -> None:
    width, height = size
    if limit and width * height > limit:
        reduced = f" (reduced from {stored[0]}x{stored[1]})" if size != stored else ""
        raise TooManyPixels(
            f"the image is {width}x{height} pixels{reduced}, more than the limit of "
            f"{limit:,} pixels"
        )
