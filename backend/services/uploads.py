"""Recognising an uploaded image by its content, refusing what is not safe to decode."""

from __future__ import annotations

from PIL import Image

from food_vision import images

# Bytes a multipart body may carry besides its files (boundaries, part headers, short fields).
MULTIPART_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 64 * 1024


class BodyTimeout(TimeoutError):
    """The request body did not arrive in time."""


class UploadRejected(ValueError):
    """Why an upload cannot be used, in words a person understands."""


class UploadTooLarge(UploadRejected):
    """More bytes, or more pixels, than the limits allow."""


class NotAnImage(UploadRejected):
    """No image, or one in a format that is not accepted."""


class CannotDecode(UploadRejected):
    """An accepted format whose content is truncated or corrupt."""


class NotMultipart(UploadRejected):
    """The body is not a multipart form."""


class MalformedUpload(UploadRejected):
    """A multipart body that cannot be parsed, or has too many or too large parts."""


_AS_UPLOAD: dict[type[images.ImageRejected], type[UploadRejected]] = {
    images.TooManyPixels: UploadTooLarge,
    images.NotAnImage: NotAnImage,
    images.CorruptImage: CannotDecode,
}


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise UploadTooLarge(f"the upload is larger than the {_mb(limit)} limit")


def decode_image(data: bytes, *, max_pixels: int, min_side: int) -> Image.Image:
    """The upload as RGB, a large JPEG reduced while decoding to no less than ``min_side`` (the
    model's input size, which its resize keeps as the shorter side); the pixel limit applies
    to what is decoded."""
    try:
        return images.open_image(data, max_pixels=max_pixels, min_side=min_side)
    except images.ImageRejected as exc:
        raise _AS_UPLOAD[type(exc)](str(exc)) from None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
