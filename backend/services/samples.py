"""Sample photos that the prediction panel offers to try with one click."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.layout import class_folders, image_files
from food_vision.datasets.naming import SAMPLES_DIR
from food_vision.datasets.registry import list_datasets


@dataclass(frozen=True)
class Sample:
    dataset: str
    relative: str
    label: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.dataset}/{self.relative}"


def list_samples(data_dir: Path, per_dataset: int = 6) -> list[Sample]:
    """A dataset's ``samples/`` folder, else the first test photo of each class."""
    samples: list[Sample] = []
    for entry in list_datasets(data_dir):
        if not entry.available:
            continue
        folder = entry.path / SAMPLES_DIR
        if folder.is_dir():
            files = [(path, path.stem.rsplit("_", 1)[0]) for path in image_files(folder)]
        else:
            test = entry.path / "test"
            files = [
                (images[0], cls.name)
                for cls in (class_folders(test) if test.is_dir() else [])
                if (images := image_files(cls))
            ]
        samples.extend(
            Sample(entry.name, path.relative_to(entry.path).as_posix(), label, path)
            for path, label in files[:per_dataset]
        )
    return samples


def find_sample(data_dir: Path, sample_id: str) -> Sample | None:
    """Only a listed sample is ever read: the id is matched, never joined onto a path."""
    return next((s for s in list_samples(data_dir) if s.id == sample_id), None)
