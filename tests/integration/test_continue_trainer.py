"""Continuing a run with the real trainer: the child starts from the parent's weights and
optimizer state (also a head trained on cached features), numbers its epochs on, and a parent
whose model went bad, or a dataset whose classes changed, ends the child ``failed`` with a
message, never a crash."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from food_vision.bundle import WEIGHTS_FILE
from food_vision.events import Completed, EpochEnd, Event, Failed, Started
from food_vision.events import decode as decode_event
from food_vision.optimizer_state import OPTIMIZER_FILE
from food_vision.runs import read_run
from tests.utils.factories import make_dataset, make_model_run
from tests.utils.processes import child_env

LIMIT = 300  # a loaded 2-core machine can take long to import torch
TINY = ["--image-size", "64", "--threads", "1", "--workers", "0", "--device", "cpu"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    make_dataset(tmp_path / "home" / "data" / "tiny", train=8, test=4, size=64)
    return tmp_path / "home"


def train(home: Path, *args: str) -> tuple[int, list[Event], str]:
    """A trainer run; its exit code, events (from the channel, or the run's own file) and
    standard error."""
    result = subprocess.run(
        [sys.executable, "-m", "food_vision.train", *TINY, *args],
        env=child_env(home),
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    events = [decode_event(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, events, result.stderr


def parent(home: Path, run_id: str, *args: str) -> Path:
    """A finished run recorded in the store, as ``foodvision train`` leaves it."""
    out = home / "runs" / run_id
    code, _, stderr = train(home, "--dataset", "tiny", "--out", str(out), *args)
    assert code == 0, stderr
    return out


def same_parameters(first: Path, second: Path) -> bool:
    """The learned weights agree (batch-norm statistics move with every training batch)."""
    a, b = load_file(str(first / WEIGHTS_FILE)), load_file(str(second / WEIGHTS_FILE))
    learned = [key for key in a if "running_" not in key and "num_batches" not in key]
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in learned)


@pytest.mark.parametrize(
    "model",
    [
        ["--model", "tinyvgg"],
        # a frozen ImageNet backbone: the head trains on cached features
        ["--model", "efficientnet_lite0", "--pretrained", "--no-augment"],
    ],
)
def test_a_child_goes_on_from_its_parents_weights_and_optimizer(
    home: Path, model: list[str]
) -> None:
    first = parent(home, "20260301-100000-aaaaaa", *model, "--epochs", "2", "--batch-size", "8")
    assert (first / OPTIMIZER_FILE).is_file()
    out = home / "runs" / "20260301-100100-bbbbbb"
    # A step too small to move anything: the child's model must be the parent's.
    code, events, stderr = train(
        home,
        *["--parent", first.name, "--epochs", "1", "--lr", "1e-9", "--events", "jsonl"],
        *["--out", str(out)],
    )
    assert code == 0, stderr
    started = events[0]
    assert isinstance(started, Started) and started.parent == first.name
    assert started.config["architecture"] == model[1] and started.config["dataset"] == "tiny"
    assert any("optimizer state" in note for note in started.notes), started.notes
    assert [(e.epoch, e.epochs) for e in events if isinstance(e, EpochEnd)] == [(3, 3)]
    assert isinstance(events[-1], Completed)
    assert same_parameters(first, out)
    # AdamW's step count goes on from the parent's: its state was restored, not begun afresh.
    steps = [load_file(str(run / OPTIMIZER_FILE))["state.0.step"].item() for run in (first, out)]
    assert steps[1] - steps[0] == started.steps_per_epoch


def test_a_parent_saved_without_optimizer_state_starts_a_fresh_one(home: Path) -> None:
    first = parent(home, "20260301-110000-cccccc", "--epochs", "1")
    (first / OPTIMIZER_FILE).unlink()
    out = home / "runs" / "20260301-110100-dddddd"
    code, _, stderr = train(home, "--parent", first.name, "--epochs", "1", "--out", str(out))
    assert code == 0, stderr
    assert "saved no optimizer state, so a fresh optimizer starts" in stderr
    record = read_run(out)
    assert record is not None and record.parent == first.name and record.epoch == 2


def test_a_model_gone_bad_or_changed_classes_end_the_child_failed(home: Path) -> None:
    first = parent(home, "20260301-120000-eeeeee", "--epochs", "1")
    weights = first / WEIGHTS_FILE
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    code, events, _ = train(home, "--parent", first.name, "--events", "jsonl")
    assert code == 1 and isinstance(events[-1], Failed)
    assert "model cannot be read" in events[-1].error
    assert "half-written" in events[-1].error

    weights.write_bytes(good)
    shutil.copytree(home / "data" / "tiny" / "train" / "sushi", home / "data/tiny/train/ramen")
    shutil.copytree(home / "data" / "tiny" / "test" / "sushi", home / "data/tiny/test/ramen")
    code, events, _ = train(home, "--parent", first.name, "--events", "jsonl")
    assert code == 1 and isinstance(events[-1], Failed)
    assert "classes of tiny changed" in events[-1].error and "added ramen" in events[-1].error


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--parent", "20990101-000000-abcdef"], "parent: there is no run"),
        (["--model", "mobilenet_v3_small"], "keeps its parent's architecture"),
        (["--processes", "2"], "processes: a continued run trains in one process"),
    ],
)
def test_the_command_line_refuses_a_parent_it_cannot_continue(
    home: Path, args: list[str], said: str
) -> None:
    run_id = make_model_run(home / "runs")
    code, _, stderr = train(home, "--parent", run_id, *args)
    assert code == 1
    assert said in stderr.strip().splitlines()[-1]
