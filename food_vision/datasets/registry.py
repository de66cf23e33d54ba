"""Named datasets and custom folders: where each lives and how it is made available."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from food_vision.atomic import atomic_dir
from food_vision.datasets.demo import generate_demo, is_demo_complete
from food_vision.datasets.fetch import fetch_archive_dataset, split_root
from food_vision.datasets.layout import has_splits
from food_vision.datasets.manifest import is_managed
from food_vision.datasets.naming import SPLITS, is_valid_dataset_name

COURSE_DATA = "https://github.com/mrdbourke/pytorch-deep-learning/raw/main/data/"
Kind = Literal["generated", "archive", "torchvision", "folder", "managed"]


class UnknownDatasetError(ValueError):
    pass


@dataclass(frozen=True)
class NamedDataset:
    name: str
    title: str
    kind: Kind
    url: str = ""
    download_size: str = ""  # what preparing it downloads, in words ("16 MB")

    @property
    def download_url(self) -> str:
        """Where it downloads from: ``url``, or its copy under ``FOODVISION_DATASETS_MIRROR``
        (a folder holding the same archive names) when one is set."""
        mirror = os.environ.get("FOODVISION_DATASETS_MIRROR")
        if mirror and self.url.startswith(COURSE_DATA):
            return mirror.rstrip("/") + "/" + self.url[len(COURSE_DATA) :]
        return self.url


NAMED: dict[str, NamedDataset] = {
    ds.name: ds
    for ds in (
        NamedDataset(
            "demo", "Demo: generated pizza / steak / sushi drawings (offline)", "generated"
        ),
        NamedDataset(
            "pizza_steak_sushi",
            "Pizza / steak / sushi photos, 10% of Food-101 (download, 16 MB)",
            "archive",
            COURSE_DATA + "pizza_steak_sushi.zip",
            "16 MB",
        ),
        NamedDataset(
            "pizza_steak_sushi_20",
            "Pizza / steak / sushi photos, 20% of Food-101 (download, 30 MB)",
            "archive",
            COURSE_DATA + "pizza_steak_sushi_20_percent.zip",
            "30 MB",
        ),
        NamedDataset(
            "food101",
            "Food-101, 101 classes (download, 5 GB)",
            "torchvision",
            "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
            "5 GB",
        ),
    )
}


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    title: str
    kind: Kind
    path: Path
    available: bool


def dataset_path(name: str, data_dir: Path) -> Path:
    """The folder of a named or custom dataset; a custom name must be a plain folder name."""
    if name not in NAMED and not is_valid_dataset_name(name):
        raise UnknownDatasetError(
            f"{name!r} is not a dataset name (letters, digits, '.', '_' and '-' only)"
        )
    return data_dir / name


def list_datasets(data_dir: Path) -> list[DatasetEntry]:
    """The named datasets (downloaded or not) and every custom folder in the data directory."""
    entries = []
    for ds in NAMED.values():
        ready = _ready_root(ds, data_dir)
        path = ready or data_dir / ds.name
        entries.append(DatasetEntry(ds.name, ds.title, ds.kind, path, ready is not None))
    if data_dir.is_dir():
        for folder in sorted(data_dir.iterdir()):
            if folder.name in NAMED or not is_valid_dataset_name(folder.name):
                continue
            if folder.is_symlink() or not folder.is_dir():
                continue
            if is_managed(folder):
                entries.append(DatasetEntry(folder.name, folder.name, "managed", folder, True))
            elif (folder / "train").is_dir():
                entries.append(DatasetEntry(folder.name, folder.name, "folder", folder, True))
    return entries


def resolve_dataset(
    name_or_dir: str, data_dir: Path, *, download: bool = True, progress: bool = False
) -> Path:
    """The ImageFolder root for ``name_or_dir``, generating or downloading a named one."""
    named = NAMED.get(name_or_dir)
    if named is None:
        candidate = Path(name_or_dir).expanduser()
        if os.sep in name_or_dir or candidate.is_absolute():
            if not candidate.is_dir():
                raise UnknownDatasetError(f"dataset folder {candidate} does not exist")
            return candidate
        folder = dataset_path(name_or_dir, data_dir)
        if not folder.is_dir():
            known = ", ".join(NAMED)
            raise UnknownDatasetError(
                f"unknown dataset {name_or_dir!r}: not one of {known}, "
                f"and no folder of that name in {data_dir}"
            )
        return folder
    root = data_dir / named.name
    ready = _ready_root(named, data_dir)
    if ready is not None:
        return ready
    if not download and named.kind != "generated":
        raise UnknownDatasetError(f"dataset {named.name} has not been downloaded yet")
    if named.kind == "generated":
        return generate_demo(root)
    if named.kind == "archive":
        return fetch_archive_dataset(named.name, named.download_url, data_dir, progress=progress)
    return prepare_food101(data_dir, progress=progress)


def _ready_root(named: NamedDataset, data_dir: Path) -> Path | None:
    """The folder holding the splits of a named dataset that is ready, else None.

    An archive may put its splits in one top-level folder (``fetch_archive_dataset`` accepts
    that), so the splits are looked for there too.
    """
    root = data_dir / named.name
    if named.kind == "generated":
        return root if is_demo_complete(root) else None
    if named.kind == "archive":
        return split_root(root) if root.is_dir() else None
    return root if has_splits(root) else None


def prepare_food101(data_dir: Path, *, progress: bool = False) -> Path:
    """Download Food-101 through torchvision, then lay it out as ImageFolder with hard links."""
    from torchvision.datasets import Food101

    source = data_dir / ".food101-source"
    Food101(root=str(source), split="train", download=True)
    return food101_to_image_folder(source / "food-101", data_dir / "food101")


def food101_to_image_folder(source: Path, target: Path) -> Path:
    """Arrange ``images/<class>/<id>.jpg`` into ``train/`` and ``test/`` per ``meta/*.json``.

    Hard links (or copies across file systems) into a temporary folder renamed into place.
    """
    if (target / "train").is_dir():
        return target
    with atomic_dir(target) as tmp:
        for split in SPLITS:
            listing = json.loads((source / "meta" / f"{split}.json").read_text(encoding="utf-8"))
            for label, ids in listing.items():
                (tmp / split / label).mkdir(parents=True, exist_ok=True)
                for image_id in ids:
                    src = source / "images" / f"{image_id}.jpg"
                    dst = tmp / split / label / src.name
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copyfile(src, dst)
    return target
