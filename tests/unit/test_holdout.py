"""The validation split: held out of train, stratified, stable, and absent when too small."""

from __future__ import annotations

from pathlib import Path

import pytest

from food_vision.datasets.holdout import MIN_VALIDATION_PER_CLASS, hold_out
from food_vision.datasets.layout import DatasetSummary


def summary(root: Path, train: dict[str, int], test: int = 3) -> DatasetSummary:
    """A dataset summary over file names (nothing is read from disk here)."""
    classes = tuple(sorted(train))
    files = {
        "train": {
            name: tuple(sorted(root / "train" / name / f"{name}-{i}.jpg" for i in range(count)))
            for name, count in train.items()
        },
        "test": {
            name: tuple(root / "test" / name / f"{name}-{i}.jpg" for i in range(test))
            for name in classes
        },
    }
    counts = {split: {n: len(p) for n, p in per.items()} for split, per in files.items()}
    return DatasetSummary(root, classes, counts, files=files)


def test_validation_is_held_out_of_train_and_never_touches_test(tmp_path: Path) -> None:
    data = summary(tmp_path, {"pizza": 75, "steak": 75, "sushi": 40})
    split = hold_out(data, 0.2)
    train, validation = {p for p, _ in split.train}, {p for p, _ in split.validation}
    test = {p for p, _ in data.samples("test")}
    assert not train & validation and not validation & test and not train & test
    assert train | validation == {p for p, _ in data.samples("train")}
    assert split.note == ""


def test_each_class_keeps_its_share(tmp_path: Path) -> None:
    data = summary(tmp_path, {"pizza": 75, "steak": 50, "sushi": 33})
    split = hold_out(data, 0.2)
    per_class = [sum(1 for _, label in split.validation if label == i) for i in range(3)]
    assert per_class == [15, 10, 7]  # 20 % of each class, rounded
    for path, label in split.validation + split.train:
        assert path.parent.name == data.classes[label]


def test_the_split_is_the_same_on_every_run(tmp_path: Path) -> None:
    first = hold_out(summary(tmp_path, {"pizza": 50, "steak": 50}), 0.2)
    assert hold_out(summary(tmp_path, {"pizza": 50, "steak": 50}), 0.2) == first
    # Chosen by file name, not by position: not simply the first or last files of a class.
    names = sorted(int(p.stem.split("-")[1]) for p, label in first.validation if label == 0)
    assert names != list(range(10)) and names != list(range(40, 50))


@pytest.mark.parametrize("fraction", [0.0, 0.2])
def test_no_validation_split_when_off_or_too_small(tmp_path: Path, fraction: float) -> None:
    data = summary(tmp_path, {"pizza": 16, "steak": 60})
    split = hold_out(data, fraction)
    assert split.validation == [] and split.train == data.samples("train")
    if fraction:
        assert "No validation split" in split.note and "'pizza'" in split.note
        assert f"fewer than {MIN_VALIDATION_PER_CLASS}" in split.note
    else:
        assert split.note == ""
