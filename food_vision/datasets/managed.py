"""Managed datasets on disk: made empty, filled with checked photos, thinned out, deleted.

Every change holds the dataset's lock (a file lock, so the server and the command line agree)
and is whole or not at all: photos are checked elsewhere first, then moved in under the lock;
if anything fails meanwhile, what was moved in is moved out again. Two uploads at once are
serialised here and both land; a dataset deleted meanwhile is noticed under the lock.

Layout: ``<data>/<name>/{train,test}/<class>/<id><ext>``, ``dataset.json``, and small
thumbnails in ``.thumbs/<id>.jpg`` (hidden, so the ImageFolder reader ignores them).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from food_vision.atomic import atomic_dir
from food_vision.datasets.intake import CheckedPhoto, ImportReport, is_image_id
from food_vision.datasets.layout import class_folders, image_files
from food_vision.datasets.manifest import (
    DatasetManifest,
    ManifestError,
    SplitRule,
    count_by_class,
    is_managed,
    read_manifest,
    write_manifest,
)
from food_vision.datasets.naming import (
    SPLITS,
    check_class_name,
    check_dataset_name,
    is_valid_dataset_name,
    same_name,
)
from food_vision.datasets.placing import class_for, plan_photos, undo_on_error
from food_vision.datasets.registry import NAMED

THUMBS_DIR = ".thumbs"
LOCKS_DIR = ".locks"
TRASH_DIR = ".trash"


class DatasetNotFound(LookupError):
    """No managed dataset of that name (or it was deleted meanwhile)."""


class DatasetExists(ValueError):
    """A dataset or class of that name exists already."""


class PhotoNotFound(LookupError):
    """No photo with that id in the dataset."""


@dataclass(frozen=True)
class StoredPhoto:
    image_id: str
    label: str
    split: str
    path: Path

    @property
    def relative(self) -> str:
        return f"{self.split}/{self.label}/{self.path.name}"


@contextlib.contextmanager
def dataset_lock(data_dir: Path, name: str) -> Iterator[None]:
    """Hold the dataset's lock; the lock files live outside the datasets, so deleting one
    never pulls a lock from under a waiting writer."""
    if not is_valid_dataset_name(name):
        raise DatasetNotFound(f"no dataset named {name[:80]!r}")
    folder = data_dir / LOCKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_dataset(
    data_dir: Path, name: str, *, test_fraction: float | None = None, source: str = "uploads"
) -> DatasetManifest:
    """A new, empty managed dataset; :class:`InvalidName` or :class:`DatasetExists` if not."""
    check_dataset_name(name)
    if name in NAMED:
        raise DatasetExists(f"{name!r} is a built-in dataset; choose another name")
    split = SplitRule() if test_fraction is None else SplitRule(test_fraction=test_fraction)
    now = time.time()
    manifest = DatasetManifest(name=name, source=source, split=split, created=now, updated=now)
    with dataset_lock(data_dir, name):
        clash = same_name(name, _folder_names(data_dir))
        if clash is not None:
            raise DatasetExists(f"a dataset named {clash!r} exists already")
        with atomic_dir(data_dir / name) as folder:
            write_manifest(folder, manifest)
    return manifest


def open_dataset(data_dir: Path, name: str) -> DatasetManifest:
    """The manifest of an existing managed dataset, else :class:`DatasetNotFound`."""
    if not is_valid_dataset_name(name):
        raise DatasetNotFound(f"no dataset named {name[:80]!r}")
    try:
        return read_manifest(data_dir / name)
    except ManifestError:
        if (data_dir / name).is_dir():
            raise DatasetNotFound(
                f"{name!r} was not made in FoodVision (no dataset.json), so it is read-only here"
            ) from None
        raise DatasetNotFound(f"no dataset named {name!r}") from None


def stored_photos(root: Path) -> dict[str, StoredPhoto]:
    """Every photo in the dataset's splits, by id."""
    found = {}
    for split in SPLITS:
        if not (root / split).is_dir():
            continue
        for folder in class_folders(root / split):
            for path in image_files(folder):
                found[path.stem] = StoredPhoto(path.stem, folder.name, split, path)
    return found


def add_photos(
    data_dir: Path,
    name: str,
    photos: Sequence[CheckedPhoto],
    report: ImportReport,
    *,
    move: bool,
    labels: Sequence[str] = (),
) -> DatasetManifest:
    """Put checked photos into the dataset (see :func:`plan_photos`), with the classes
    ``labels`` even where no photo of theirs was accepted. ``move`` moves the files (staged
    ones), else they are copied (a folder on the user's disk)."""
    root = data_dir / name
    with dataset_lock(data_dir, name):
        manifest = open_dataset(data_dir, name)
        classes = list(manifest.classes)
        for label in labels:
            class_for(classes, label)
        seen = {photo.image_id: photo.relative for photo in stored_photos(root).values()}
        fraction = manifest.split.test_fraction
        with undo_on_error() as undo:
            for item in plan_photos(photos, seen, classes, fraction, report):
                photo = item.photo
                target = root / item.split / item.label / f"{photo.image_id}{photo.extension}"
                undo.place(photo.candidate.path, target, move=move)
                if photo.thumbnail is not None:
                    undo.place(photo.thumbnail, _thumbnail(root, photo.image_id), move=True)
            manifest = _save(root, manifest, classes)
    report.counts = manifest.count_table()
    return manifest


def add_class(data_dir: Path, name: str, label: str) -> DatasetManifest:
    label = check_class_name(label)
    with dataset_lock(data_dir, name):
        manifest = open_dataset(data_dir, name)
        clash = same_name(label, manifest.classes)
        if clash is not None:
            raise DatasetExists(f"the dataset has a class named {clash!r} already")
        return _save(data_dir / name, manifest, [*manifest.classes, label])


def remove_class(data_dir: Path, name: str, label: str) -> DatasetManifest:
    """The class and all its photos, gone at once."""
    root = data_dir / name
    with dataset_lock(data_dir, name):
        manifest = open_dataset(data_dir, name)
        if label not in manifest.classes:
            raise PhotoNotFound(f"the dataset has no class named {label[:80]!r}")
        for photo in stored_photos(root).values():
            if photo.label == label:
                _thumbnail(root, photo.image_id).unlink(missing_ok=True)
        for split in SPLITS:
            if (root / split / label).is_dir():
                _discard(root / split / label, data_dir)
        return _save(root, manifest, [c for c in manifest.classes if c != label])


def remove_photo(data_dir: Path, name: str, image_id: str) -> DatasetManifest:
    root = data_dir / name
    with dataset_lock(data_dir, name):
        manifest = open_dataset(data_dir, name)
        photo = stored_photos(root).get(image_id) if is_image_id(image_id) else None
        if photo is None:
            raise PhotoNotFound(f"the dataset has no photo {image_id[:80]!r}")
        photo.path.unlink()
        _thumbnail(root, image_id).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            photo.path.parent.rmdir()  # an empty class folder would break the layout
        return _save(root, manifest, manifest.classes)


def delete_dataset(data_dir: Path, name: str) -> None:
    """Gone at once (renamed away under the lock), then removed from the disk."""
    with dataset_lock(data_dir, name):
        open_dataset(data_dir, name)
        _discard(data_dir / name, data_dir)


def thumbnail_path(data_dir: Path, name: str, image_id: str) -> Path:
    """The photo's thumbnail; :class:`PhotoNotFound` when there is none."""
    path = _thumbnail(data_dir / name, image_id)
    if not (is_valid_dataset_name(name) and is_image_id(image_id) and path.is_file()):
        raise PhotoNotFound(f"no thumbnail for photo {image_id[:80]!r} in {name[:80]!r}")
    return path


def managed_bytes(data_dir: Path) -> int:
    """Bytes that managed datasets take on disk (what the total-size limit counts)."""
    total = 0
    if not data_dir.is_dir():
        return 0
    for root in data_dir.iterdir():
        if is_valid_dataset_name(root.name) and is_managed(root):
            total += sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return total


def _thumbnail(root: Path, image_id: str) -> Path:
    return root / THUMBS_DIR / f"{image_id}.jpg"


def _save(root: Path, manifest: DatasetManifest, classes: Sequence[str]) -> DatasetManifest:
    """The manifest with these classes and the counts the folders hold now, written."""
    counts = count_by_class((p.label, p.split) for p in stored_photos(root).values())
    updated = manifest.model_copy(
        update={"classes": list(classes), "counts": counts, "updated": time.time()}
    )
    write_manifest(root, updated)
    return updated


def _folder_names(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.iterdir()] if data_dir.is_dir() else []


def _discard(path: Path, data_dir: Path) -> None:
    """Rename ``path`` out of sight at once, then delete it."""
    trash = data_dir / TRASH_DIR / f"{path.name}-{secrets.token_hex(6)}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
