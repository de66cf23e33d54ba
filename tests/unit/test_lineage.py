"""Continuing a run: what the child takes from its parent, what it may change, and every
parent that cannot be continued, refused with a message that names why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.services.run_store import RunStore
from backend.services.runs import RunService
from food_vision.bundle import WEIGHTS_FILE
from food_vision.config import ConfigError, TrainConfig
from food_vision.events import EpochEnd
from food_vision.lineage import (
    ParentRun,
    ParentUnusableError,
    ancestor_epochs,
    check_classes,
    continue_config,
    open_parent,
)
from food_vision.runs import EVENTS_FILE, RunRecord, RunStatus, read_run, write_run
from tests.utils.factories import make_model_run

PARENT_CONFIG = {
    "dataset": "tiny",
    "architecture": "tinyvgg",
    "epochs": 3,
    "image_size": 64,
    "pretrained": False,
    "batch_size": 8,
    "learning_rate": 0.003,
}


# Runs that did not end with a model: each refused, naming its state.
NOT_CONTINUABLE = [
    (RunStatus.QUEUED, False, "is queued"),
    (RunStatus.RUNNING, True, "is running"),
    (RunStatus.FAILED, False, "is failed"),
    (RunStatus.INTERRUPTED, True, "is interrupted"),
    (RunStatus.CANCELLED, False, "is cancelled without a model"),
]


def parent_run(runs: Path, status: RunStatus = RunStatus.COMPLETED, has_model: bool = True) -> str:
    run_id = make_model_run(runs, status=status)
    folder = runs / run_id
    record = read_run(folder)
    assert record is not None
    write_run(folder, record.evolve(config=PARENT_CONFIG, has_model=has_model))
    epochs = [epoch_event(run_id, number, 3) for number in (1, 2, 3)]
    (folder / EVENTS_FILE).write_text("".join(e.encode() + "\n" for e in epochs))
    return run_id


def opened(runs: Path, run_id: str | None) -> ParentRun:
    assert run_id is not None
    return open_parent(run_id, runs)


def epoch_event(run_id: str, epoch: int, epochs: int) -> EpochEnd:
    return EpochEnd(
        run_id, epoch=epoch, epochs=epochs, train_loss=1.0, train_acc=0.5, test_loss=1.0,
        test_acc=0.5, seconds=1.0,
    )  # fmt: skip


def test_a_child_takes_its_parents_options_and_counts_its_own_epochs(tmp_path: Path) -> None:
    parent = parent_run(tmp_path)
    more = TrainConfig.parse({"parent": parent, "epochs": 2})
    child = continue_config(more, opened(tmp_path, parent))
    assert (child.dataset, child.architecture, child.image_size) == ("tiny", "tinyvgg", 64)
    assert (child.batch_size, child.epochs, child.parent) == (8, 2, parent)
    faster = TrainConfig.parse({"parent": parent, "learning_rate": 0.01, "dataset": "tiny"})
    assert continue_config(faster, opened(tmp_path, parent)).learning_rate == 0.01
    assert open_parent(parent, tmp_path).last_epoch == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("dataset", "demo"), ("architecture", "mobilenet_v3_small"), ("image_size", 96)],
)
def test_a_contradicting_option_is_refused_naming_it(
    tmp_path: Path, field: str, value: object
) -> None:
    config = TrainConfig.parse({"parent": parent_run(tmp_path), field: value})
    with pytest.raises(ConfigError) as caught:
        continue_config(config, opened(tmp_path, config.parent))
    assert caught.value.field == field and "keeps its parent's" in caught.value.message


def test_several_processes_are_refused(tmp_path: Path) -> None:
    config = TrainConfig.parse({"parent": parent_run(tmp_path), "processes": 2})
    with pytest.raises(ConfigError, match="one process") as caught:
        continue_config(config, opened(tmp_path, config.parent))
    assert caught.value.field == "processes"


@pytest.mark.parametrize("parent", ["20990101-000000-abcdef", "../etc", "x"])
def test_an_unknown_parent_is_a_config_error(tmp_path: Path, parent: str) -> None:
    with pytest.raises(ConfigError, match="no run") as caught:
        open_parent(parent, tmp_path)
    assert caught.value.field == "parent"


@pytest.mark.parametrize(("status", "has_model", "said"), NOT_CONTINUABLE)
def test_a_parent_that_did_not_end_with_a_model_is_refused(
    tmp_path: Path, status: RunStatus, has_model: bool, said: str
) -> None:
    parent = parent_run(tmp_path, status, has_model)
    with pytest.raises(ParentUnusableError, match=said):
        open_parent(parent, tmp_path)


def test_a_cancelled_parent_that_kept_a_model_can_be_continued(tmp_path: Path) -> None:
    parent = parent_run(tmp_path, RunStatus.CANCELLED, has_model=True)
    assert open_parent(parent, tmp_path).id == parent


def test_a_missing_or_half_written_model_is_refused(tmp_path: Path) -> None:
    parent = parent_run(tmp_path)
    weights = tmp_path / parent / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ParentUnusableError, match="damaged or half-written"):
        open_parent(parent, tmp_path)
    weights.unlink()
    with pytest.raises(ParentUnusableError, match="missing"):
        open_parent(parent, tmp_path)


def test_a_parent_without_optimizer_state_says_a_fresh_optimizer_starts(tmp_path: Path) -> None:
    parent = open_parent(parent_run(tmp_path), tmp_path)
    assert parent.optimizer_path is None
    assert "a fresh optimizer starts" in parent.note()


def test_changed_classes_are_named(tmp_path: Path) -> None:
    parent = open_parent(parent_run(tmp_path), tmp_path)
    check_classes(parent, ["pizza", "steak", "sushi"], "tiny")
    with pytest.raises(ConfigError, match="added ramen; removed sushi") as caught:
        check_classes(parent, ["pizza", "ramen", "steak"], "tiny")
    assert caught.value.field == "dataset"
    with pytest.raises(ConfigError, match="their order changed"):
        check_classes(parent, ["steak", "pizza", "sushi"], "tiny")


def test_history_begins_with_every_ancestors_epochs(tmp_path: Path) -> None:
    grandparent = parent_run(tmp_path)
    parent = parent_run(tmp_path)
    folder = tmp_path / parent
    record = read_run(folder)
    assert record is not None
    write_run(folder, record.evolve(config={**PARENT_CONFIG, "parent": grandparent}))
    (folder / EVENTS_FILE).write_text(epoch_event(parent, 4, 4).encode() + "\n")
    child = RunRecord("child-run-1", RunStatus.QUEUED, {"parent": parent}, parent=parent)
    history = ancestor_epochs(child, tmp_path)
    assert [(e.run_id, e.epoch) for e in history] == [(grandparent, 1), (grandparent, 2),
        (grandparent, 3), (parent, 4)]  # fmt: skip


@pytest.mark.parametrize(
    ("busy", "said"), [("stopping", "is stopping"), ("cancelling", "is being cancelled")]
)
def test_a_parent_being_stopped_or_cancelled_is_refused_naming_it(
    tmp_path: Path, busy: str, said: str
) -> None:
    """The server's check, before the record says the run ended: a run that stops (stop and
    keep) or is being cancelled has no final model yet."""
    parent = parent_run(tmp_path, RunStatus.RUNNING)

    class Training:  # what the run service asks the training manager here
        def is_stopping(self, run_id: str) -> bool:
            return busy == "stopping" and run_id == parent

        def is_cancelling(self, run_id: str) -> bool:
            return busy == "cancelling" and run_id == parent

    service = RunService(RunStore(tmp_path), Training(), None, None, None)  # type: ignore[arg-type]
    with pytest.raises(ParentUnusableError, match=said):
        asyncio.run(service._parent(parent))
