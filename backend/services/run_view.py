"""What the page shows of a run, derived from its record and events."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from backend.services.hub import RunUpdate
from food_vision.events import EpochEnd, Event, Progress, Started
from food_vision.runs import RunRecord, RunStatus

# Share of the progress bar given to a frozen backbone's feature pass: nearly all of such a
# run's time, since the epochs after it train a head on stored features.
FEATURE_PASS_SHARE = 0.9

STATUS_LABELS = {
    RunStatus.QUEUED: "Starting…",
    RunStatus.RUNNING: "Running",
    RunStatus.COMPLETED: "Completed",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.FAILED: "Failed",
    RunStatus.INTERRUPTED: "Interrupted",
}


@dataclass(frozen=True)
class RunView:
    record: RunRecord
    epochs: tuple[EpochEnd, ...] = ()  # its own
    inherited: tuple[EpochEnd, ...] = ()  # those of the runs it continues, oldest first
    started: Started | None = None
    progress: Progress | None = None
    features: Progress | None = None  # the feature pass's latest progress, if it had one
    cancelling: bool = False
    now: float = field(default_factory=time.time, compare=False)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> str:
        """``starting``, ``running``, ``cancelling`` or the final status."""
        if self.record.status.is_active:
            if self.cancelling:
                return "cancelling"
            return "running" if self.started else "starting"
        return self.record.status.value

    @property
    def label(self) -> str:
        if self.state == "cancelling":
            return "Cancelling…"
        if self.state == "starting":
            return "Starting…"
        return STATUS_LABELS[self.record.status]

    @property
    def is_active(self) -> bool:
        return self.record.status.is_active

    @property
    def can_continue(self) -> bool:
        """Ended with a model that more epochs can start from (see food_vision.lineage)."""
        status = self.record.status
        return self.record.has_model and status in (RunStatus.COMPLETED, RunStatus.CANCELLED)

    @property
    def history(self) -> tuple[EpochEnd, ...]:
        """Every epoch of the model: a continued run's parents' first, then its own."""
        return (*self.inherited, *self.epochs)

    @property
    def epochs_before(self) -> int:
        """The epochs its parent had finished: its own number on from there."""
        return self.inherited[-1].epoch if self.inherited else 0

    @property
    def total_epochs(self) -> int:
        return self.epochs_before + self._own_epochs

    @property
    def _own_epochs(self) -> int:
        return int(self.record.config.get("epochs", 0))

    @property
    def current_epoch(self) -> int:
        """The epoch in progress while active; once ended, the epochs that finished (so a
        cancelled run does not count the epoch it stopped in)."""
        if self.is_active and self.progress is not None and self.progress.phase != "features":
            return self.progress.epoch
        return self.epochs_before + len(self.epochs)

    @property
    def activity(self) -> str:
        """What the trainer is doing now, in words, while the run is active."""
        progress = self.progress
        if not self.is_active or progress is None:
            return ""
        if progress.phase == "features":
            return f"Extracting features {progress.step}/{progress.steps}"
        if progress.phase == "eval":
            return f"Evaluating, batch {progress.step}/{progress.steps}"
        return f"Training, step {progress.step}/{progress.steps}"

    @property
    def fraction(self) -> float:
        """Share of the run done, from 0 to 1: the feature pass, if any, then the epochs."""
        if self.record.status is RunStatus.COMPLETED:
            return 1.0
        share = FEATURE_PASS_SHARE if self.features is not None else 0.0
        # Not 100% until done: an evaluation follows the last training step.
        return min(0.99, share * self._features_done + (1 - share) * self._epochs_done)

    @property
    def _features_done(self) -> float:
        features = self.features
        if self.epochs or features is None or self.progress is not features:
            return 1.0
        return features.step / features.steps if features.steps else 0.0

    @property
    def _epochs_done(self) -> float:
        total = self._own_epochs
        if not total:
            return 0.0
        done = float(len(self.epochs))
        progress = self.progress
        under_way = progress is not None and progress.epoch - self.epochs_before > done
        if progress is not None and progress.phase != "features" and under_way:
            # An epoch's training steps, then its validation (counted with the last step).
            training = progress.step / progress.steps if progress.steps else 0.0
            done += 1.0 if progress.phase == "eval" else training
        return done / total

    @property
    def percent(self) -> int:
        return int(self.fraction * 100)

    @property
    def eta_seconds(self) -> float | None:
        start = self.started.ts if self.started else None
        if not self.is_active or start is None or self.fraction <= 0.01:
            return None
        elapsed = max(0.0, self.now - start)
        return elapsed * (1 - self.fraction) / self.fraction

    @property
    def images_per_sec(self) -> float | None:
        return self.progress.images_per_sec if self.progress else None

    @property
    def held_out(self) -> str | None:
        """The split each epoch was measured on besides train: ``validation``, or ``test`` in
        runs recorded before there was a validation split; None when there was none."""
        for split in ("validation", "test"):
            if any(not math.isnan(getattr(e, f"{split}_acc")) for e in self.epochs):
                return split
        return None

    @property
    def best_epoch(self) -> EpochEnd | None:
        """The epoch whose model the run kept (the latest one when nothing picked it)."""
        if self.record.best_epoch:
            return next((e for e in self.epochs if e.epoch == self.record.best_epoch), None)
        split = self.held_out
        if split is None:
            return self.epochs[-1] if self.epochs else None
        return max(self.epochs, key=lambda e: getattr(e, f"{split}_acc"))

    @property
    def best_held_out_acc(self) -> float | None:
        best, split = self.best_epoch, self.held_out
        return None if best is None or split is None else float(getattr(best, f"{split}_acc"))

    @property
    def test_acc(self) -> float | None:
        """The final test accuracy, measured once with the kept model."""
        value = self.record.metrics.get("test_acc")
        return value if self.record.status is RunStatus.COMPLETED else None

    @property
    def notes(self) -> list[str]:
        return list(self.started.notes) if self.started else []


def build_view(
    record: RunRecord,
    events: list[Event],
    cancelling: bool = False,
    inherited: list[EpochEnd] | None = None,
) -> RunView:
    view = RunView(record, inherited=tuple(inherited or ()), cancelling=cancelling)
    for event in events:
        view = _with_event(view, event)
    return view


def advance(view: RunView, update: RunUpdate) -> RunView:
    """The view after ``update`` (which must be for the same run)."""
    view = replace(view, record=update.record, cancelling=update.cancelling, now=time.time())
    return _with_event(view, update.event) if update.event is not None else view


def _with_event(view: RunView, event: Event) -> RunView:
    if isinstance(event, Started):
        return replace(view, started=event)
    if isinstance(event, Progress):
        features = event if event.phase == "features" else view.features
        return replace(view, progress=event, features=features)
    if isinstance(event, EpochEnd):
        return replace(view, epochs=(*view.epochs, event))
    return view
