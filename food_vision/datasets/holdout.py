"""The validation split: held out from train, stratified, the same on every run of a dataset.

Each class gives up its own share (rounded), and which of its images go is decided by a hash of
their file names, not by the seed or the files' order: runs that differ only in their seed are
judged on the same images. The test split is never touched here; it stays for the one
evaluation at the end of a run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.layout import DatasetSummary

# Fewer held-out images per class than this make the best epoch a coin toss.
MIN_VALIDATION_PER_CLASS = 5

Sample = tuple[Path, int]


@dataclass(frozen=True)
class Holdout:
    """The training split divided into what trains and what picks the best epoch."""

    train: list[Sample]
    validation: list[Sample]
    note: str = ""  # why there is no validation split, when one was asked for and is missing


def hold_out(summary: DatasetSummary, fraction: float) -> Holdout:
    """``fraction`` of each class's training images held out (rounded), or none with a note
    when some class would keep fewer than :data:`MIN_VALIDATION_PER_CLASS` of them."""
    everything = summary.samples("train")
    if fraction <= 0:
        return Holdout(everything, [])
    train: list[Sample] = []
    validation: list[Sample] = []
    for index, name in enumerate(summary.classes):
        files = sorted(summary.files.get("train", {}).get(name, ()), key=_rank)
        count = int(fraction * len(files) + 0.5)
        if count < MIN_VALIDATION_PER_CLASS or count >= len(files):
            return Holdout(everything, [], _too_small(name, len(files), fraction))
        validation += [(path, index) for path in sorted(files[:count])]
        train += [(path, index) for path in sorted(files[count:])]
    return Holdout(train, validation)


def _rank(path: Path) -> str:
    return hashlib.sha256(path.name.encode("utf-8")).hexdigest()


def _too_small(name: str, count: int, fraction: float) -> str:
    return (
        f"No validation split: {fraction:.0%} of the {count} training images of {name!r} is "
        f"fewer than {MIN_VALIDATION_PER_CLASS}, so every training image trains, the last "
        "epoch's model is kept and the test split is evaluated once at the end"
    )
