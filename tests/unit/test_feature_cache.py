"""The feature cache of a frozen backbone, through real training sessions in this process.

EfficientNet-Lite0 (its bundled ImageNet weights) at 64 px on a small generated dataset, one
torch thread and no loader workers, so that each session takes seconds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from food_vision.bundle import WEIGHTS_FILE
from food_vision.config import TrainConfig
from food_vision.events import Completed, Event, Progress, Started
from food_vision.features import FEATURES_DIR, KEY_FILE
from food_vision.reporting import Reporter
from food_vision.runs import RunStatus
from food_vision.session import TrainingSession
from food_vision.train_args import RunOptions
from tests.utils.factories import make_dataset

HEAD = ("_fc.weight", "_fc.bias")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "small", train=10, test=3, size=64)


def train_once(
    dataset: Path, out: Path, *, feature_cache: bool = True, **changes: Any
) -> list[Event]:
    """One session; the events it reported."""
    config = TrainConfig.parse(
        {
            "dataset": str(dataset),
            "architecture": "efficientnet_lite0",
            "image_size": 64,
            "epochs": 3,
            "batch_size": 8,
            "augment": False,
            "validation_fraction": 0,
            **changes,
        }
    )
    events: list[Event] = []
    reporter = Reporter("test-run", None, None)
    reporter.listen(events.append)
    options = RunOptions(threads=1, workers=0, device="cpu", feature_cache=feature_cache)
    session = TrainingSession(
        config, out=out, reporter=reporter, stop=threading.Event(), options=options
    )
    assert session.run() is RunStatus.COMPLETED
    return events


def feature_progress(events: list[Event]) -> list[Progress]:
    return [e for e in events if isinstance(e, Progress) and e.phase == "features"]


def test_cached_and_uncached_training_give_the_same_head(dataset: Path, tmp_path: Path) -> None:
    cached = train_once(dataset, tmp_path / "cached")
    uncached = train_once(dataset, tmp_path / "uncached", feature_cache=False)

    assert feature_progress(cached) and not feature_progress(uncached)
    assert not (tmp_path / "uncached" / FEATURES_DIR).exists()
    a = load_file(str(tmp_path / "cached" / WEIGHTS_FILE))
    b = load_file(str(tmp_path / "uncached" / WEIGHTS_FILE))
    assert a.keys() == b.keys()
    for name in a:
        if name in HEAD:
            assert not torch.equal(a[name], torch.zeros_like(a[name]))
            torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4)
        else:
            assert torch.equal(a[name], b[name]), name  # the frozen backbone did not move
    metrics = [e.metrics for e in (cached[-1], uncached[-1]) if isinstance(e, Completed)]
    assert metrics[0]["test_acc"] == metrics[1]["test_acc"]
    assert metrics[0]["test_loss"] == pytest.approx(metrics[1]["test_loss"], abs=1e-4)


def test_the_feature_pass_is_reported_image_by_image(dataset: Path, tmp_path: Path) -> None:
    events = train_once(dataset, tmp_path / "run", validation_fraction=0.5, augment=True)
    (first, *_) = feature_progress(events)
    # 30 training images, 15 of them held out for validation, and 9 test images: 39 in all,
    # each read once however many augmented views of it are kept.
    assert (first.epoch, first.steps) == (0, 39)
    assert 1 <= first.step <= 39
    folder = tmp_path / "run" / FEATURES_DIR
    views = TrainConfig.model_fields["feature_views"].default
    assert {p.name for p in folder.iterdir()} == {
        KEY_FILE,
        *(
            f"{split}{part}.npy"
            for split in ("train", "validation", "test")
            for part in ("", "-labels")
        ),
    }
    rows = {
        split: len(np.load(folder / f"{split}.npy", mmap_mode="r"))
        for split in ("train", "validation", "test")
    }
    assert rows == {"train": 15 * views, "validation": 15, "test": 9}


def test_a_second_run_in_the_same_folder_reuses_the_features(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = train_once(dataset, out)
    key = out / FEATURES_DIR / KEY_FILE
    written = key.stat().st_mtime_ns
    again = train_once(dataset, out)
    assert not feature_progress(again) and key.stat().st_mtime_ns == written
    assert first[-1].metrics == again[-1].metrics  # type: ignore[attr-defined]

    changed = train_once(dataset, out, image_size=48)  # another key: computed afresh
    assert feature_progress(changed) and key.stat().st_mtime_ns != written


def test_a_quick_check_skips_the_feature_pass(dataset: Path, tmp_path: Path) -> None:
    events = train_once(dataset, tmp_path / "run", dry_run=True, epochs=2)
    assert not feature_progress(events) and not (tmp_path / "run" / FEATURES_DIR).exists()
    started = events[0]
    assert isinstance(started, Started) and started.steps_per_epoch == 1
    steps = {e.step for e in events if isinstance(e, Progress) and e.phase == "train"}
    assert steps <= {1}
