"""Checking photos before they join a dataset, and the per-file report a person reads after.

Each file is recognised by its content, decoded (a large JPEG at reduced scale) so that a
damaged one is caught here rather than in a training run, measured, named by its content hash
and given a small thumbnail. Files that fail a check are skipped with the reason.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from food_vision.datasets.sizes import human_size
from food_vision.images import ImageRejected, Photo, load_photo

MIN_PHOTO_SIDE = 32
THUMBNAIL_SIDE = 128
THUMBNAIL_QUALITY = 80
ID_CHARS = 32
_SPLIT_BUCKETS = 16**8
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class PhotoTooSmall(ImageRejected):
    """Fewer pixels on a side than any model's input needs."""


class PhotoTooLarge(ImageRejected):
    """More bytes than one photo may have."""


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Candidate:
    """A file offered to a dataset: its name as the person knows it, where its bytes are, the
    class it is for, and its split when the source fixes one (an archive's train/ and test/)."""

    file: str
    path: Path
    label: str
    split: str | None = None


@dataclass(frozen=True)
class CheckedPhoto:
    candidate: Candidate
    image_id: str
    extension: str
    thumbnail: Path | None


@dataclass
class ImportReport:
    """What happened to each file offered, and the dataset's counts afterwards."""

    accepted: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def skip(self, file: str, reason: str) -> None:
        self.skipped.append({"file": file, "reason": reason})

    def to_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "counts": self.counts,
        }


def content_id(path: Path) -> str:
    """The photo's id and stored name: the start of its SHA-256, so a copy is known as such."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:ID_CHARS]


def is_image_id(text: str) -> bool:
    return len(text) == ID_CHARS and all(c in "0123456789abcdef" for c in text)


def split_for(image_id: str, test_fraction: float) -> str:
    """``test`` for about ``test_fraction`` of all ids, always the same for one id."""
    return "test" if int(image_id[:8], 16) < test_fraction * _SPLIT_BUCKETS else "train"


def check_photo(
    candidate: Candidate, limits: PhotoLimits, thumbnails: Path | None = None
) -> CheckedPhoto:
    """The photo's id and format, with its thumbnail written into ``thumbnails`` when given;
    :class:`ImageRejected` (a subclass) says why it cannot be used."""
    size = candidate.path.stat().st_size
    if size > limits.max_bytes:
        raise PhotoTooLarge(
            f"too large: {human_size(size)}, over the {human_size(limits.max_bytes)} "
            "limit per photo"
        )
    photo = load_photo(candidate.path, max_pixels=limits.max_pixels, min_side=THUMBNAIL_SIDE)
    width, height = photo.stored_size
    if min(width, height) < MIN_PHOTO_SIDE:
        raise PhotoTooSmall(
            f"too small: {width}x{height} pixels; a photo needs at least {MIN_PHOTO_SIDE} "
            "pixels on each side"
        )
    image_id = content_id(candidate.path)
    thumbnail = _write_thumbnail(photo, thumbnails / f"{image_id}.jpg") if thumbnails else None
    return CheckedPhoto(candidate, image_id, photo.extension, thumbnail)


def check_photos(
    candidates: Sequence[Candidate],
    limits: PhotoLimits,
    report: ImportReport,
    thumbnails: Path | None = None,
) -> list[CheckedPhoto]:
    """The candidates that pass, in their order; the others are skipped in ``report``.

    Decoding releases the GIL, so a few threads check photos side by side.
    """
    workers = max(1, min(4, len(os.sched_getaffinity(0))))
    with ThreadPoolExecutor(workers, thread_name_prefix="photo-check") as pool:
        outcomes = list(pool.map(lambda c: _outcome(c, limits, thumbnails), candidates))
    checked = []
    for candidate, outcome in zip(candidates, outcomes, strict=True):
        if isinstance(outcome, CheckedPhoto):
            checked.append(outcome)
        else:
            report.skip(candidate.file, outcome)
    return checked


def _outcome(
    candidate: Candidate, limits: PhotoLimits, thumbnails: Path | None
) -> CheckedPhoto | str:
    try:
        return check_photo(candidate, limits, thumbnails)
    except ImageRejected as exc:
        return str(exc)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise  # not this photo's fault: the whole import stops
        return f"cannot be read: {exc.strerror or exc}"


def _write_thumbnail(photo: Photo, path: Path) -> Path:
    """A JPEG at most ``THUMBNAIL_SIDE`` pixels on its longer side: served instead of the
    photo wherever a page shows many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photo.image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    photo.image.save(path, format="JPEG", quality=THUMBNAIL_QUALITY)
    return path
