"""What the page shows of a run: its activity, its progress, the held-out split it was measured
on, the kept epoch, and the curves."""

from __future__ import annotations

import math

from backend.services.run_view import RunView, build_view
from backend.web.charts import run_charts
from backend.web.schemas import EpochOut
from food_vision.events import Completed, EpochEnd, Event, Progress, Started
from food_vision.numbers import finite_or_none
from food_vision.runs import RunRecord, RunStatus, apply_event

RUN = "20260102-080000-0a1b2c"


def started() -> Started:
    return Started(
        RUN, config={}, device="cpu", classes=["a", "b"], num_train=8, num_test=4, epochs=2,
        steps_per_epoch=2, num_validation=2,
    )  # fmt: skip


def progress(phase: str, epoch: int, step: int, steps: int) -> Progress:
    return Progress(
        RUN, epoch=epoch, step=step, steps=steps, loss=math.nan, images_per_sec=1.0, phase=phase
    )


def epoch(number: int, **held_out: float) -> EpochEnd:
    return EpochEnd(
        RUN, epoch=number, epochs=2, train_loss=1.0, train_acc=0.5, seconds=1.0, **held_out
    )


def replay(events: list[Event]) -> list[RunView]:
    """The views after each event."""
    record = RunRecord(RUN, RunStatus.RUNNING, {"epochs": 2})
    views = []
    for count in range(1, len(events) + 1):
        record = apply_event(record, events[count - 1])
        views.append(build_view(record, events[:count]))
    return views


CACHED_RUN: list[Event] = [
    started(),
    progress("features", 0, 3, 12),
    progress("features", 0, 12, 12),
    progress("train", 1, 1, 2),
    progress("eval", 1, 1, 1),
    epoch(1, validation_loss=0.5, validation_acc=1.0),
    progress("train", 2, 2, 2),
    epoch(2, validation_loss=0.4, validation_acc=0.5),
    progress("eval", 2, 1, 1),
    Completed(RUN, metrics={"test_acc": 0.75, "test_loss": 0.6}, model_path="m", best_epoch=1),
]


def test_progress_never_goes_back_and_the_feature_pass_fills_most_of_it() -> None:
    views = replay(CACHED_RUN)
    percents = [view.percent for view in views]
    assert percents == sorted(percents), percents
    assert views[1].percent == 22 and views[2].percent == 90  # 3/12 and 12/12 of the pass
    assert percents[-1] == 100


def test_the_activity_says_what_the_trainer_does() -> None:
    views = replay(CACHED_RUN)
    assert views[1].activity == "Extracting features 3/12"
    assert views[3].activity == "Training, step 1/2"
    assert views[4].activity == "Evaluating, batch 1/1"
    assert views[-1].activity == ""  # finished
    assert views[3].current_epoch == 1 and views[1].current_epoch == 0


def test_the_kept_epoch_and_the_final_test_figures() -> None:
    view = replay(CACHED_RUN)[-1]
    assert view.held_out == "validation"
    assert view.best_epoch is not None and view.best_epoch.epoch == 1  # as the trainer said
    assert view.best_held_out_acc == 1.0
    assert view.test_acc == 0.75
    assert view.record.metrics == {"test_acc": 0.75, "test_loss": 0.6}


def test_runs_from_before_the_validation_split_show_their_test_curves() -> None:
    events: list[Event] = [started(), epoch(1, test_loss=0.5, test_acc=0.5)]
    view = replay(events)[-1]
    assert view.held_out == "test" and view.best_held_out_acc == 0.5
    assert view.record.metrics == {
        "train_loss": 1.0, "train_acc": 0.5, "test_loss": 0.5, "test_acc": 0.5,
    }  # fmt: skip
    _, accuracy = run_charts("r", view.epochs, view.held_out)
    assert [series.label for series in accuracy.series] == ["train", "test"]


def test_without_a_held_out_split_only_train_is_drawn() -> None:
    view = replay([started(), epoch(1), epoch(2)])[-1]
    assert view.held_out is None and view.best_held_out_acc is None
    assert view.best_epoch is not None and view.best_epoch.epoch == 2
    loss, _ = run_charts("r", view.epochs, view.held_out)
    assert [(series.label, series.css) for series in loss.series] == [("train", "train")]


def test_the_api_history_carries_validation_figures_and_reads_old_epochs() -> None:
    new = EpochOut(**finite_or_none(epoch(1, validation_loss=0.5, validation_acc=1.0).to_dict()))
    assert (new.validation_acc, new.test_acc) == (1.0, None)
    old = EpochOut(**finite_or_none(epoch(1, test_loss=0.5, test_acc=0.5).to_dict()))
    assert (old.validation_acc, old.test_acc) == (None, 0.5)


def test_a_continued_run_counts_on_from_its_parents_epochs() -> None:
    """Its parent's two epochs come first in its history and curves, set apart; its own
    progress and share done count only the epochs it adds."""
    parents = [
        EpochEnd("parent-run-1", epoch=n, epochs=2, train_loss=1.0, train_acc=0.5, seconds=1.0)
        for n in (1, 2)
    ]
    record = RunRecord(RUN, RunStatus.RUNNING, {"epochs": 2, "parent": "parent-run-1"})
    own = [started(), progress("train", 3, 1, 2)]
    view = build_view(record, own, inherited=parents)
    assert (view.current_epoch, view.total_epochs, view.percent) == (3, 4, 25)
    view = build_view(record, [*own, epoch(3)], inherited=parents)
    assert [e.epoch for e in view.history] == [1, 2, 3] and view.epochs_before == 2
    assert view.percent == 50
    loss, _ = run_charts("r", view.history, view.held_out, len(view.inherited))
    assert loss.divider is not None and loss.x_ticks[1].position < loss.divider
    assert loss.divider < loss.x_ticks[2].position
    assert run_charts("r", view.epochs, view.held_out)[0].divider is None
