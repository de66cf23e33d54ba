"""What the page says of its choices and its runs: the default model, offline-aware labels,
round chart ticks, trainer messages without server paths, and announcements."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from backend.services.datasets import DatasetInfo
from backend.services.run_view import build_view
from backend.services.runs import Model, best_model
from backend.web import choices, render
from backend.web.announcements import announcement
from backend.web.charts import nice_step
from backend.web.public_text import public_text
from food_vision.bundle import ModelMeta
from food_vision.datasets.registry import DatasetEntry
from food_vision.events import EpochEnd, Failed, Started
from food_vision.models import ARCHITECTURES
from food_vision.runs import RunRecord, RunStatus

META = ModelMeta(
    architecture="tinyvgg",
    classes=["pizza", "steak"],
    input_size=64,
    mean=[0.5, 0.5, 0.5],
    std=[0.5, 0.5, 0.5],
    metrics={"test_acc": 0.9},
)


def record(run_id: str, status: RunStatus = RunStatus.COMPLETED) -> RunRecord:
    config = {"dataset": "tiny", "architecture": "tinyvgg", "epochs": 5, "learning_rate": 0.003}
    return RunRecord(run_id, status, config, epoch=2, has_model=True)


def model(run_id: str, acc: float, status: RunStatus = RunStatus.COMPLETED) -> Model:
    return record(run_id, status), dataclasses.replace(META, metrics={"test_acc": acc})


def test_the_default_model_is_the_best_finished_one_never_a_cancelled_one() -> None:
    newest_first = [
        model("cancelled", 0.99, RunStatus.CANCELLED),
        model("equal-newer", 0.95),
        model("worse", 0.83),
        model("equal-older", 0.95),
    ]
    best = best_model(newest_first)
    assert best is not None and best.id == "equal-newer"
    only_cancelled = [model("c1", 0.5, RunStatus.CANCELLED), model("c2", 0.9, RunStatus.CANCELLED)]
    assert (best_model(only_cancelled) or record("x")).id == "c1"
    assert best_model([]) is None


def test_the_picker_chooses_the_best_model() -> None:
    html = render.model_picker([model("newer-worse", 0.5), model("best", 0.9)])
    assert '<option value="best" selected>' in html
    assert "<label" in html and "Trained model" in html
    assert "<label" not in render.model_picker([])


def test_a_cancelled_model_says_which_epoch_it_kept() -> None:
    name = choices.model_name(record("r", RunStatus.CANCELLED), dataclasses.replace(META, epoch=1))
    assert name.startswith("tinyvgg · tiny · 90.0% · ") and name.endswith(
        "(cancelled, kept epoch 1)"
    )


def info(name: str, available: bool, kind: str = "archive") -> DatasetInfo:
    return DatasetInfo(DatasetEntry(name, name, kind, Path("/nowhere"), available))  # type: ignore[arg-type]


def test_dataset_labels_say_what_needs_a_download_and_its_size() -> None:
    datasets = [info("pizza_steak_sushi", False), info("demo", False, "generated")]
    assert choices.dataset_label(datasets[0]) == "pizza_steak_sushi · download"
    assert choices.dataset_label(datasets[1]) == "demo · made on first use, offline"
    assert (
        choices.downloads_note(datasets) == "Downloaded when first used: pizza_steak_sushi (16 MB)."
    )
    assert choices.downloads_note([info("pizza_steak_sushi", True)]) == ""


def test_architecture_labels_say_where_the_weights_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    mobilenet = ARCHITECTURES["mobilenet_v3_small"]
    assert choices.architecture_label(mobilenet) == "MobileNetV3-Small · 10 MB download"
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / mobilenet.weights_file).write_bytes(b"weights")
    assert choices.architecture_label(mobilenet) == "MobileNetV3-Small · weights here"
    assert choices.architecture_label(ARCHITECTURES["tinyvgg"]) == "TinyVGG · from scratch"
    lite = ARCHITECTURES["efficientnet_lite0"]
    assert choices.architecture_label(lite) == "EfficientNet-Lite0 · weights included"


@pytest.mark.parametrize(
    ("rough", "step"), [(0.245, 0.25), (0.3, 0.5), (1.7, 2.0), (0.0009, 0.001), (40.0, 50.0)]
)
def test_chart_steps_are_round(rough: float, step: float) -> None:
    assert math.isclose(nice_step(rough), step)


@pytest.mark.parametrize("rough", [0.0, -1.0, math.nan, math.inf])
def test_a_degenerate_chart_range_still_gets_a_step(rough: float) -> None:
    assert nice_step(rough) == 1.0


def test_trainer_messages_lose_server_paths_and_command_line_flags() -> None:
    raw = (
        "pretrained weights mobilenet_v3_small-047dcff4.pth are not cached and could not be "
        "downloaded ([Errno -2] Name or service not known); put the file in "
        "/root/.cache/torch/hub/checkpoints or train without --pretrained"
    )
    shown = public_text(raw)
    assert "/root" not in shown and "--pretrained" not in shown
    assert "put the file in a folder on the server" in shown
    assert shown.endswith("train with “Start from ImageNet weights” unticked")
    assert (
        public_text("cannot read ~/data/x/train: gone")
        == "cannot read a folder on the server: gone"
    )
    assert public_text(None) == "" and public_text("3/5 epochs") == "3/5 epochs"


def test_a_failed_run_shows_no_server_path_on_the_page() -> None:
    failed = RunRecord(
        "r", RunStatus.FAILED, {"epochs": 3}, error="cannot open /srv/foodvision/data/demo/x.jpg"
    )
    html = render.run_panel(build_view(failed, []))
    assert "/srv" not in html and "a folder on the server" in html


def test_announcements_are_short_and_only_at_milestones() -> None:
    run = record("r", RunStatus.RUNNING)
    started = Started(
        "r",
        config={},
        device="cpu",
        classes=["a", "b"],
        num_train=4,
        num_test=2,
        epochs=5,
        steps_per_epoch=1,
    )
    epoch = EpochEnd(
        "r",
        epoch=3,
        epochs=5,
        train_loss=1.0,
        train_acc=0.5,
        validation_loss=1.0,
        validation_acc=0.914,
        seconds=1.0,
    )
    view = build_view(run, [started, epoch])
    assert announcement(view, started) == "Run started: tinyvgg on tiny, 5 epochs."
    assert announcement(view, epoch) == "Epoch 3 of 5 done: validation accuracy 91%."
    assert announcement(view, None) is None
    failed = Failed("r", error="disk /var/x/y full", detail="")
    assert announcement(view, failed) == "Run failed: disk a folder on the server full"
