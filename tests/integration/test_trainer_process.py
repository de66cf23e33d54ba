"""The trainer as the server runs it: a real ``python -m food_vision.train`` subprocess.

Tiny generated datasets keep each run to seconds. Deadlines below are upper bounds for a
process to answer, never speed measurements.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from food_vision.bundle import WEIGHTS_FILE, load_bundle
from food_vision.evaluation import read_evaluation
from food_vision.events import (
    Cancelled,
    Completed,
    EpochEnd,
    Evaluated,
    Event,
    Failed,
    Progress,
    Started,
)
from food_vision.events import decode as decode_event
from food_vision.images import open_image
from food_vision.predict import Predictor
from food_vision.runs import EVENTS_FILE, RUN_FILE, RunStatus, read_run
from tests.utils.factories import make_dataset
from tests.utils.processes import (
    alive,
    child_env,
    group_members,
    run_cli,
    wait_until_dead,
)
from tests.utils.trainer import Trainer

CLASSES = ["pizza", "steak", "sushi"]
START_LIMIT = 180.0  # a loaded 2-core machine can take long to import torch
CANCEL_LIMIT = 5.0
PDEATHSIG_LIMIT = 3.0
RUN_ID = "20260102-080000-0a1b2c"


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 train / 12 test images at 64 px: a 2-epoch run takes a few seconds."""
    return make_dataset(tmp_path_factory.mktemp("data") / "tiny", train=8, test=4, size=64)


@pytest.fixture(scope="module")
def slow_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 train images: at batch size 2 an epoch is 45 steps, long enough to signal mid-epoch."""
    return make_dataset(tmp_path_factory.mktemp("data") / "slow", train=30, test=2, size=64)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def trainer_args(dataset: Path, *extra: str) -> list[str]:
    return [
        "--dataset",
        str(dataset),
        "--model",
        "tinyvgg",
        "--threads",
        "1",
        "--device",
        "cpu",
        *extra,
    ]


def sequence(events: list[Event]) -> str:
    letters = {
        Started: "S",
        Progress: "P",
        EpochEnd: "E",
        Evaluated: "V",
        Completed: "C",
        Cancelled: "X",
    }
    return "".join(letters.get(type(event), "?") for event in events)


# ------------------------------------------------------------------------------ completed


def test_jsonl_run_reports_every_event_and_saves_a_usable_model(
    tiny_dataset: Path, home: Path
) -> None:
    out = home / "runs" / RUN_ID
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "food_vision.train",
            "--events",
            "jsonl",
            *trainer_args(tiny_dataset, "--epochs", "2", "--batch-size", "8", "--workers", "0"),
            "--out",
            str(out),
            "--run-id",
            RUN_ID,
        ],
        env=child_env(home),
        capture_output=True,
        text=True,
        timeout=START_LIMIT + 120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    events = [decode_event(line) for line in result.stdout.splitlines()]
    assert re.fullmatch(r"SP*EP*EP*VC", sequence(events)), sequence(events)
    assert {event.run_id for event in events} == {RUN_ID}

    started = events[0]
    assert isinstance(started, Started)
    assert started.classes == CLASSES
    assert (started.num_train, started.num_test) == (24, 12)
    assert (started.epochs, started.steps_per_epoch) == (2, 3)
    assert started.config["architecture"] == "tinyvgg"
    assert started.device == "cpu"

    current_epoch = 1
    for event in events[1:-2]:
        if isinstance(event, Progress) and event.phase == "train":
            assert event.epoch == current_epoch
            assert 1 <= event.step <= event.steps == 3
            assert event.loss == event.loss and event.loss >= 0  # not NaN
        elif isinstance(event, Progress):  # the test split, once, after the last epoch
            assert (event.phase, event.epoch, current_epoch) == ("eval", 2, 3)
        else:
            assert isinstance(event, EpochEnd)
            assert (event.epoch, event.epochs) == (current_epoch, 2)
            assert 0.0 <= event.train_acc <= 1.0
            # 8 training images a class are too few to hold any out: no validation figures.
            assert math.isnan(event.validation_acc) and math.isnan(event.test_acc)
            current_epoch += 1
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    assert started.num_validation == 0 and "No validation split" in started.notes[0]

    evaluated, completed = events[-2:]
    assert isinstance(evaluated, Evaluated) and isinstance(completed, Completed)
    assert completed.model_path == str(out / WEIGHTS_FILE)
    assert set(completed.metrics) == {"train_loss", "train_acc", "test_loss", "test_acc"}
    assert completed.best_epoch == 2  # without a validation split the last epoch is kept
    assert 0.0 <= completed.metrics["test_acc"] <= 1.0

    # The test pass is the evaluation: its figures, and every test photo in evaluation.json.
    assert (evaluated.split, evaluated.classes) == ("test", CLASSES)
    assert sum(map(sum, evaluated.confusion)) == 12
    assert evaluated.accuracy == completed.metrics["test_acc"]
    evaluation = read_evaluation(out)
    assert evaluation is not None and evaluation["confusion"] == evaluated.confusion
    photos = evaluation["samples"]
    assert sorted(photo["image"] for photo in photos) == sorted(
        path.relative_to(tiny_dataset).as_posix() for path in (tiny_dataset / "test").rglob("*.*")
    )
    mean_loss = sum(photo["loss"] for photo in photos) / len(photos)
    assert mean_loss == pytest.approx(completed.metrics["test_loss"], abs=1e-5)

    # The server owns the run record in this mode: the trainer only writes the bundle.
    assert not (out / RUN_FILE).exists()
    assert not (out / EVENTS_FILE).exists()
    model, meta = load_bundle(out)
    assert (meta.architecture, meta.classes, meta.epoch) == ("tinyvgg", CLASSES, 2)
    assert meta.metrics == completed.metrics
    predictor = Predictor(model, meta)
    sample = open_image(tiny_dataset / "samples" / "sushi_0.jpg")
    (row,) = predictor.predict([sample], top_k=3)
    assert sorted(p.label for p in row) == CLASSES


def test_standalone_run_records_itself_and_is_listed(tiny_dataset: Path, home: Path) -> None:
    env = child_env(home)
    result = run_cli(
        trainer_args(tiny_dataset, "--epochs", "1", "--batch-size", "12", "--workers", "0"),
        env,
        module="food_vision.train",
        timeout=START_LIMIT + 60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""

    (run_dir,) = list((home / "runs").iterdir())
    record = read_run(run_dir)
    assert record is not None
    assert record.status is RunStatus.COMPLETED
    assert record.id == run_dir.name
    assert record.has_model
    assert record.pid is not None
    assert record.started_at is not None and record.finished_at is not None
    assert set(record.metrics) == {"train_loss", "train_acc", "test_loss", "test_acc"}
    events = [decode_event(line) for line in (run_dir / EVENTS_FILE).read_text().splitlines()]
    assert re.fullmatch(r"SP*EP*VC", sequence(events)), sequence(events)
    assert load_bundle(run_dir)[1].epoch == 1

    listing = run_cli(["runs"], env)
    assert listing.returncode == 0
    (line,) = listing.stdout.splitlines()
    assert line.split()[:4] == [run_dir.name, "completed", "tinyvgg", str(tiny_dataset)]


# ------------------------------------------------------------------------------ failed


def test_bad_dataset_fails_with_its_message(tmp_path: Path, home: Path) -> None:
    root = make_dataset(tmp_path / "broken", train=2, test=1, size=32)
    for image in (root / "test" / "steak").iterdir():
        image.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "food_vision.train", "--events", "jsonl", *trainer_args(root)],
        env=child_env(home),
        capture_output=True,
        text=True,
        timeout=START_LIMIT + 60,
        check=False,
    )
    assert result.returncode == 1
    (event,) = [decode_event(line) for line in result.stdout.splitlines()]
    assert isinstance(event, Failed)
    assert event.error.startswith("empty class test/steak: no image files in")
    assert "DatasetError" in event.detail
    assert f"error: {event.error}" in result.stderr.splitlines()


# ------------------------------------------------------------------------------ cancel / kill


def test_sigterm_mid_epoch_cancels_keeps_epoch_one_and_leaves_no_process(
    slow_dataset: Path, home: Path, trainers: list[Trainer]
) -> None:
    out = home / "runs" / RUN_ID
    args = trainer_args(
        slow_dataset, "--epochs", "5", "--batch-size", "2", "--workers", "1", "--out", str(out)
    )
    trainer = Trainer(args, child_env(home), home / "train.log")
    trainers.append(trainer)
    assert os.getpgid(trainer.pid) == trainer.pid

    trainer.wait_for(lambda e: isinstance(e, Progress) and e.epoch == 2, START_LIMIT)
    workers = psutil.Process(trainer.pid).children(recursive=True)
    assert workers, "expected at least one data loader worker process"
    assert all(os.getpgid(worker.pid) == trainer.pid for worker in workers)

    os.killpg(trainer.pid, signal.SIGTERM)
    cancelled = trainer.wait_for(lambda e: isinstance(e, Cancelled), CANCEL_LIMIT)

    assert isinstance(cancelled, Cancelled)
    assert cancelled.has_model
    assert cancelled.epoch == 2
    assert 1 <= cancelled.step < 45
    assert trainer.rest(CANCEL_LIMIT) == []  # the final event is the last line
    assert trainer.process.wait(timeout=60) == 3
    assert wait_until_dead(group_members(trainer.pid), limit=10) == []
    assert not any(alive(worker) for worker in workers)

    finished = [e.epoch for e in trainer.events if isinstance(e, EpochEnd)]
    assert finished == [1]
    assert not any(isinstance(e, Completed) for e in trainer.events)
    model, meta = load_bundle(out)
    assert meta.epoch == 1
    (row,) = Predictor(model, meta).predict(
        [open_image(slow_dataset / "samples" / "pizza_0.jpg")], top_k=1
    )
    assert row[0].label in CLASSES


def test_sigterm_during_the_feature_pass_cancels_and_keeps_nothing(
    slow_dataset: Path, home: Path, trainers: list[Trainer]
) -> None:
    """A frozen backbone's feature pass stops at the next batch like an epoch does, and leaves
    neither a features folder, nor a half-written one, nor a model."""
    out = home / "runs" / RUN_ID
    args = [
        *("--dataset", str(slow_dataset), "--model", "efficientnet_lite0", "--threads", "1"),
        *("--device", "cpu", "--workers", "1", "--out", str(out)),
    ]
    trainer = Trainer(args, child_env(home), home / "train.log")
    trainers.append(trainer)

    first = trainer.wait_for(lambda e: isinstance(e, Progress), START_LIMIT)
    assert isinstance(first, Progress) and first.phase == "features"
    assert first.step < first.steps  # mid-pass
    os.killpg(trainer.pid, signal.SIGTERM)
    cancelled = trainer.wait_for(lambda e: isinstance(e, Cancelled), CANCEL_LIMIT)

    assert isinstance(cancelled, Cancelled) and not cancelled.has_model
    assert trainer.rest(CANCEL_LIMIT) == []
    assert trainer.process.wait(timeout=60) == 3
    assert wait_until_dead(group_members(trainer.pid), limit=10) == []
    assert not any(isinstance(e, EpochEnd) for e in trainer.events)
    assert sorted(p.name for p in out.iterdir()) == []  # no features, no temp folder, no model


def test_sigkill_of_the_trainer_takes_its_workers_down(
    slow_dataset: Path, home: Path, trainers: list[Trainer]
) -> None:
    args = trainer_args(slow_dataset, "--epochs", "3", "--batch-size", "2", "--workers", "1")
    trainer = Trainer(args, child_env(home), home / "train.log")
    trainers.append(trainer)

    trainer.wait_for(lambda e: isinstance(e, Progress), START_LIMIT)
    workers = psutil.Process(trainer.pid).children(recursive=True)
    assert workers

    os.kill(trainer.pid, signal.SIGKILL)  # the trainer only, not its group
    assert trainer.process.wait(timeout=30) == -signal.SIGKILL

    # PR_SET_PDEATHSIG kills them at once. (Without it, torch's own watchdog in each worker
    # notices the dead parent only at its next 5-second status check, too late for this.)
    assert wait_until_dead(workers, limit=PDEATHSIG_LIMIT) == []
    assert wait_until_dead(group_members(trainer.pid), limit=PDEATHSIG_LIMIT) == []
