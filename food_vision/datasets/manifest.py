"""``dataset.json``: what a managed dataset holds, and what it still lacks before it can train.

A managed dataset is made in the page, through the API or by ``foodvision datasets --import``;
it is an ImageFolder tree plus this file. The counts are read from the folders each time the
dataset changes, so the file can never claim photos the folders do not hold.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from food_vision.atomic import atomic_write_json

MANIFEST_FILE = "dataset.json"
DEFAULT_TEST_FRACTION = 0.2
MIN_TEST_FRACTION = 0.05
MAX_TEST_FRACTION = 0.5


class SplitCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    train: int = 0
    test: int = 0

    @property
    def total(self) -> int:
        return self.train + self.test


class SplitRule(BaseModel):
    """How photos added per class are split: by their content hash, so the same photo always
    lands in the same split and adding photos never moves earlier ones."""

    model_config = ConfigDict(frozen=True)

    rule: Literal["content-hash"] = "content-hash"
    test_fraction: float = Field(
        DEFAULT_TEST_FRACTION, ge=MIN_TEST_FRACTION, le=MAX_TEST_FRACTION, allow_inf_nan=False
    )


class DatasetManifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = 1
    name: str
    classes: list[str] = Field(default_factory=list)
    counts: dict[str, SplitCounts] = Field(default_factory=dict)
    source: str = "uploads"
    split: SplitRule = Field(default_factory=SplitRule)
    created: float
    updated: float

    def count(self, label: str) -> SplitCounts:
        return self.counts.get(label, SplitCounts())

    def count_table(self) -> dict[str, dict[str, int]]:
        """Train and test counts of every class, zeros included, as plain numbers."""
        return {label: self.count(label).model_dump() for label in self.classes}

    @property
    def num_images(self) -> int:
        return sum(self.count(label).total for label in self.classes)

    def problems(self) -> list[str]:
        """What is missing before the dataset can train, in words a person understands."""
        found = []
        if len(self.classes) < 2:
            found.append(f"add at least two classes (it has {len(self.classes)})")
        share = round(self.split.test_fraction * 100)
        for label in self.classes:
            counts = self.count(label)
            if counts.total == 0:
                found.append(f"class {label!r} has no photos yet")
            elif counts.train == 0:
                found.append(f"class {label!r} has no training photo yet: add more photos")
            elif counts.test == 0:
                found.append(
                    f"class {label!r} has no test photo yet: add more photos "
                    f"(about {share}% of them go to test)"
                )
        return found

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def count_by_class(photos: Iterable[tuple[str, str]]) -> dict[str, SplitCounts]:
    """Train and test counts per class, from ``(class, split)`` pairs."""
    tally: dict[str, Counter[str]] = {}
    for label, split in photos:
        tally.setdefault(label, Counter())[split] += 1
    return {label: SplitCounts(**counts) for label, counts in tally.items()}


class ManifestError(ValueError):
    """``dataset.json`` is missing or unreadable."""


def is_managed(root: Path) -> bool:
    return (root / MANIFEST_FILE).is_file()


def read_manifest(root: Path) -> DatasetManifest:
    try:
        text = (root / MANIFEST_FILE).read_text(encoding="utf-8")
        return DatasetManifest.model_validate(json.loads(text))
    except FileNotFoundError:
        raise ManifestError(f"{root.name} is not a managed dataset (no {MANIFEST_FILE})") from None
    except (OSError, ValueError, ValidationError) as exc:
        raise ManifestError(f"{root / MANIFEST_FILE} cannot be read: {exc}") from None


def write_manifest(root: Path, manifest: DatasetManifest) -> None:
    atomic_write_json(root / MANIFEST_FILE, manifest.to_dict())
