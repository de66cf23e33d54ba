"""Validation of an ImageFolder dataset (``<root>/{train,test}/<class>/<image>``) before training.

Rules, checked in this order; the first broken one raises ``DatasetError`` naming the path:

- ``root`` is a folder holding both split folders ``train/`` and ``test/``;
- each split holds at least one class folder, and both splits hold the same class names;
- there are at least two classes;
- every class folder holds at least one image file, recognised by its extension
  (``IMAGE_EXTENSIONS``, any case); with ``verify_images``, at least one of them must decode.

Names starting with ``.`` (``.DS_Store``, ``._x.jpg``, ``.ipynb_checkpoints/``) are ignored, as
are files that are not images and files lying directly in a split folder. Only the top level of
a class folder is read (no sub-folders).

Links: a split or class folder whose real location is outside ``root`` is an error (the data
would not be what the folder shows, and could be anything on the machine). An image file whose
real location is outside ``root``, or a dangling link, is counted as unreadable, like a corrupt
image, and is never opened. Links that stay inside ``root`` are followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from food_vision.datasets.naming import SPLITS
from food_vision.images import IMAGE_EXTENSIONS, ImageRejected, verify_image


class DatasetError(ValueError):
    """A dataset that does not fit the ImageFolder layout; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))


@dataclass(frozen=True)
class DatasetSummary:
    """What ``validate_image_folder`` found.

    ``counts`` is split → class → number of readable images; ``files`` the readable images
    themselves (split → class → sorted paths), which is what a data loader should read.
    """

    root: Path
    classes: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    unreadable: int = 0
    files: dict[str, dict[str, tuple[Path, ...]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def num_train(self) -> int:
        return sum(self.counts.get("train", {}).values())

    @property
    def num_test(self) -> int:
        return sum(self.counts.get("test", {}).values())

    def samples(self, split: str) -> list[tuple[Path, int]]:
        """``(path, class index)`` for every readable image of ``split``, classes in order."""
        per_class = self.files.get(split, {})
        return [
            (path, index)
            for index, name in enumerate(self.classes)
            for path in per_class.get(name, ())
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "classes": list(self.classes),
            "counts": {split: dict(per_class) for split, per_class in self.counts.items()},
            "unreadable": self.unreadable,
            "num_train": self.num_train,
            "num_test": self.num_test,
        }


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def has_splits(folder: Path) -> bool:
    """True when ``folder`` holds every split folder (their contents are not checked)."""
    return all((folder / split).is_dir() for split in SPLITS)


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name: recognised extension, not hidden.

    Links are listed as they are (a dangling one included); ``validate_image_folder`` decides
    which of them count.
    """
    found = []
    for entry in Path(folder).iterdir():
        if is_hidden(entry) or entry.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if entry.is_file() or (entry.is_symlink() and not entry.is_dir()):
            found.append(entry)
    return sorted(found)


def class_folders(split_dir: Path) -> list[Path]:
    """The class folders of a split, sorted by name (hidden ones left out)."""
    return sorted(p for p in Path(split_dir).iterdir() if p.is_dir() and not is_hidden(p))


def validate_image_folder(root: Path, *, verify_images: bool = True) -> DatasetSummary:
    """Check that ``root`` is a usable ImageFolder dataset and count its images.

    Raises ``DatasetError`` (one line, with the path) on the first problem found.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    real_root = root.resolve()

    missing = [f"{split}/" for split in SPLITS if not (root / split).is_dir()]
    if missing:
        raise DatasetError(f"missing split folder {' and '.join(missing)} in {root}")

    per_split: dict[str, list[Path]] = {}
    for split in SPLITS:
        split_dir = root / split
        _refuse_outside(split_dir, real_root, what=f"split folder {split}/")
        folders = class_folders(split_dir)
        if not folders:
            raise DatasetError(f"no class folders in {split}/: {split_dir}")
        for folder in folders:
            _refuse_outside(folder, real_root, what=f"class folder {split}/{folder.name}")
        per_split[split] = folders

    names = {split: {p.name for p in folders} for split, folders in per_split.items()}
    if names["train"] != names["test"]:
        only = [
            f"only in {split}/: {', '.join(sorted(names[split] - names[other]))}"
            for split, other in (("train", "test"), ("test", "train"))
            if names[split] - names[other]
        ]
        raise DatasetError(
            f"class folders differ between train/ and test/ ({'; '.join(only)}) in {root}"
        )
    classes = tuple(sorted(names["train"]))
    if len(classes) < 2:
        raise DatasetError(f"need at least 2 classes, found 1 ({classes[0]}) in {root}")

    counts: dict[str, dict[str, int]] = {}
    readable: dict[str, dict[str, tuple[Path, ...]]] = {}
    unreadable = 0
    for split in SPLITS:
        counts[split], readable[split] = {}, {}
        for folder in per_split[split]:
            where = f"{split}/{folder.name}"
            files = image_files(folder)
            if not files:
                raise DatasetError(f"empty class {where}: no image files in {folder}")
            good = tuple(f for f in files if _readable(f, real_root, verify=verify_images))
            if not good:
                raise DatasetError(
                    f"no readable images in class {where}: all {len(files)} unreadable in {folder}"
                )
            counts[split][folder.name] = len(good)
            readable[split][folder.name] = good
            unreadable += len(files) - len(good)
    return DatasetSummary(
        root=root, classes=classes, counts=counts, unreadable=unreadable, files=readable
    )


def _inside(path: Path, real_root: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(real_root)
    except (OSError, RuntimeError):  # dangling link, loop, permissions
        return False


def _refuse_outside(folder: Path, real_root: Path, *, what: str) -> None:
    if not _inside(folder, real_root):
        raise DatasetError(f"{what} is a link leading outside the dataset: {folder}")


def _readable(path: Path, real_root: Path, *, verify: bool) -> bool:
    """True for an image file inside the dataset that Pillow can open (and verify)."""
    if not _inside(path, real_root) or not path.is_file():
        return False
    if not verify:
        return True
    try:
        verify_image(path)
    except (ImageRejected, OSError):
        return False
    return True
