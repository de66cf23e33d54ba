"""Recognising an uploaded image by its content, refusing what is not safe to decode."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from food_vision.images import to_rgb

ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP", "BMP": "BMP"}
ACCEPTED_TEXT = ", ".join(ACCEPTED_FORMATS.values())


class UploadRejected(ValueError):
    """Why an upload cannot be used, in words a person understands."""


class UploadTooLarge(UploadRejected):
    """More bytes, or more pixels, than the limits allow."""


class NotAnImage(UploadRejected):
    """No image, or one in a format that is not accepted."""


class CannotDecode(UploadRejected):
    """An accepted format whose content is truncated or corrupt."""


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise UploadTooLarge(f"the upload is larger than the {_mb(limit)} limit")


def decode_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """The upload as RGB; the pixel count is checked from the header before any decoding."""
    if not data:
        raise NotAnImage("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadTooLarge(f"the image has too many pixels to decode ({exc})") from None
    except UnidentifiedImageError:
        raise NotAnImage(f"the file is not an image; accepted formats: {ACCEPTED_TEXT}") from None
    except (OSError, SyntaxError, ValueError):
        raise CannotDecode("cannot decode image: the file is corrupt") from None
    with image:
        if image.format not in ACCEPTED_FORMATS:
            raise NotAnImage(
                f"{image.format} images are not accepted; accepted formats: {ACCEPTED_TEXT}"
            )
        width, height = image.size
        if width * height > max_pixels:
            raise UploadTooLarge(
                f"the image is {width}x{height} pixels, more than the limit of "
                f"{max_pixels:,} pixels"
            )
        try:
            image.load()
            return to_rgb(image).copy()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise CannotDecode("cannot decode image: the file is truncated or corrupt") from None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
