"""Putting photos into a dataset: where each goes (its class and split, or that it is a copy
of one already there), and placing the files so that a failure halfway takes them all out."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.intake import CheckedPhoto, ImportReport, split_for
from food_vision.datasets.naming import same_name


@dataclass(frozen=True)
class Placement:
    photo: CheckedPhoto
    label: str
    split: str


def plan_photos(
    photos: Sequence[CheckedPhoto],
    seen: dict[str, str],
    classes: list[str],
    test_fraction: float,
    report: ImportReport,
) -> list[Placement]:
    """Where each new photo goes; copies of one in ``seen`` (id -> where it is) or earlier in
    ``photos`` are reported as duplicates, and new classes are added to ``classes``."""
    placements = []
    for photo in photos:
        label = class_for(classes, photo.candidate.label)
        file = photo.candidate.file
        if photo.image_id in seen:
            report.duplicates.append({"file": file, "same_as": seen[photo.image_id]})
            continue
        split = photo.candidate.split or split_for(photo.image_id, test_fraction)
        seen[photo.image_id] = file
        report.accepted.append({"file": file, "id": photo.image_id, "label": label, "split": split})
        placements.append(Placement(photo, label, split))
    return placements


def class_for(classes: list[str], label: str) -> str:
    """An existing class that differs from ``label`` only in case or accents' encoding, else
    ``label`` itself, added to ``classes``."""
    existing = same_name(label, classes)
    if existing is None:
        classes.append(label)
        return label
    return existing


class Placed:
    """Files put into a dataset (and folders made for them), to take out again on failure."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, Path | None]] = []  # (placed, moved from)
        self.folders: list[Path] = []

    def place(self, source: Path, target: Path, *, move: bool) -> None:
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        self.folders.extend(missing)
        if move:
            os.replace(source, target)
            self.files.append((target, source))
            return
        partial = target.with_name(f".{target.name}.part")
        self.files.append((partial, None))
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        self.files.append((target, None))

    def undo(self) -> None:
        for placed, origin in reversed(self.files):
            with contextlib.suppress(OSError):
                if origin is not None:
                    os.replace(placed, origin)
                else:
                    placed.unlink(missing_ok=True)
        for folder in self.folders:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def undo_on_error() -> Iterator[Placed]:
    placed = Placed()
    try:
        yield placed
    except BaseException:
        placed.undo()
        raise
