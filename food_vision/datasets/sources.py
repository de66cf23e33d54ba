"""Where the photos a person brings are: which class each is for, and its split when the
folder (or unpacked zip) has ``train/`` and ``test/`` of its own.

A folder of class folders (``pizza/``, ``sushi/``, ...) gives each photo its class; one that
holds ``train/<class>/`` and ``test/<class>/`` also fixes each photo's split. Either may sit
inside a single top folder (a zip of a folder). Photos may lie deeper inside a class folder.
Hidden files and the ``__MACOSX`` folder that macOS adds to zips are passed over silently;
anything else that cannot be a photo of a class is skipped in the report, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.archive import safe_extract_zip
from food_vision.datasets.intake import Candidate, ImportReport
from food_vision.datasets.layout import has_splits
from food_vision.datasets.naming import SPLITS, InvalidName, check_class_name

STAGING_DIR = ".staging"
MAX_ARCHIVE_MEMBERS = 50_000
LINK_SKIPPED = "a link, not a photo: links are not followed"
_IGNORED = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class Found:
    """The candidates, and every class folder's name (also of those without a photo)."""

    candidates: list[Candidate]
    labels: list[str]


def find_photos(folder: Path, report: ImportReport) -> Found:
    """A candidate per file under a class folder; the rest goes into ``report`` as skipped."""
    root = _content_root(folder)
    found = Found([], [])
    for split in SPLITS if has_splits(root) else (None,):
        _classes_in(root / split if split else root, folder, report, split, found)
    return found


def unpack_archive(archive: Path, staging: Path, *, max_bytes: int) -> Path:
    """The zip unpacked into ``staging`` after every safety check (see ``archive.py``)."""
    return safe_extract_zip(
        archive, staging / "unpacked", max_members=MAX_ARCHIVE_MEMBERS, max_total_bytes=max_bytes
    )


def new_staging(data_dir: Path) -> Path:
    """A fresh folder beside the datasets (same file system: moving in is a rename)."""
    folder = data_dir / STAGING_DIR / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder


@contextlib.contextmanager
def staging_area(data_dir: Path) -> Iterator[Path]:
    folder = new_staging(data_dir)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _visible(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in _IGNORED
    )


def _content_root(folder: Path) -> Path:
    """Go down through single top folders that hold nothing but one folder each."""
    root = folder
    while not has_splits(root):
        children = _visible(root)
        if len(children) != 1 or not _is_folder(children[0]):
            break
        inner = _visible(children[0])
        if not inner or not all(_is_folder(p) for p in inner):
            break  # the single folder holds photos: it is a class, not a wrapper
        root = children[0]
    return root


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _classes_in(
    parent: Path, top: Path, report: ImportReport, split: str | None, found: Found
) -> None:
    for entry in _visible(parent):
        shown = entry.relative_to(top).as_posix()
        if entry.is_symlink():
            report.skip(shown, LINK_SKIPPED)
        elif not entry.is_dir():
            report.skip(shown, "not inside a class folder: put each photo in its class's folder")
        else:
            _photos_of_class(entry, top, report, split, found)


def _photos_of_class(
    folder: Path, top: Path, report: ImportReport, split: str | None, found: Found
) -> None:
    files = _files_under(folder)
    try:
        label = check_class_name(folder.name)
    except InvalidName as exc:
        for path in files:
            report.skip(path.relative_to(top).as_posix(), str(exc))
        return
    if label not in found.labels:
        found.labels.append(label)
    for path in files:
        shown = path.relative_to(top).as_posix()
        if path.is_symlink():
            report.skip(shown, LINK_SKIPPED)
        else:
            found.candidates.append(Candidate(shown, path, label, split))


def _files_under(folder: Path) -> list[Path]:
    """Files (and links to files) at any depth, hidden ones left out, in a stable order;
    linked folders are not entered."""
    found: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _IGNORED)
        base = Path(current)
        found.extend(
            base / name
            for name in sorted(files)
            if not name.startswith(".") and name not in _IGNORED
        )
    return found
