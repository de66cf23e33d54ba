"""TensorBoard scalars from a real trainer run, and a clear refusal without the package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.demo import generate_demo
from tests.utils.server import app_env


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


@pytest.mark.parametrize("switch", [["--tensorboard"], []])
def test_a_run_writes_its_epochs_as_scalars(tmp_path: Path, switch: list[str]) -> None:
    data = generate_demo(tmp_path / "tiny", train_per_class=4, test_per_class=2, size=48)
    out = tmp_path / "run-20261126"
    settings = {} if switch else {"FOODVISION_TENSORBOARD": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "food_vision.train", "--dataset", str(data), "--model", "tinyvgg",
         "--epochs", "2", "--batch-size", "8", "--threads", "1", "--workers", "0",
         "--out", str(out), *switch],
        env=app_env(tmp_path, **settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    board = out / "tensorboard"
    assert [step for step, _ in scalars(board, "learning_rate")] == [1, 2]
    assert [step for step, _ in scalars(board / "loss_train", "loss")] == [1, 2]
    assert [step for step, _ in scalars(board / "accuracy_train", "accuracy")] == [1, 2]
    assert all(value > 0 for _, value in scalars(board, "images_per_sec"))


def test_no_scalars_unless_asked(tmp_path: Path) -> None:
    data = generate_demo(tmp_path / "tiny", train_per_class=2, test_per_class=1, size=48)
    out = tmp_path / "run-20261126"
    subprocess.run(
        [sys.executable, "-m", "food_vision.train", "--dataset", str(data), "--model", "tinyvgg",
         "--epochs", "1", "--threads", "1", "--workers", "0", "--out", str(out)],
        env=app_env(tmp_path), capture_output=True, timeout=300, check=True,
    )  # fmt: skip
    assert not (out / "tensorboard").exists()


def test_asking_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    with pytest.raises(ConfigError, match=r"tensorboard: .*pip install -e '\.\[tensorboard\]'"):
        TrainConfig.parse({"tensorboard": True})
    assert TrainConfig.parse({"tensorboard": False}).tensorboard is False
