"""What the page shows of a run, derived from its record and events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from backend.services.hub import RunUpdate
from food_vision.events import EpochEnd, Event, Progress, Started
from food_vision.runs import RunRecord, RunStatus

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
    epochs: tuple[EpochEnd, ...] = ()
    started: Started | None = None
    progress: Progress | None = None
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
    def total_epochs(self) -> int:
        return int(self.record.config.get("epochs", 0))

    @property
    def current_epoch(self) -> int:
        if self.progress is not None:
            return self.progress.epoch
        return len(self.epochs)

    @property
    def fraction(self) -> float:
        """Share of all training steps done, from 0 to 1."""
        if self.record.status is RunStatus.COMPLETED:
            return 1.0
        total = self.total_epochs
        if not total:
            return 0.0
        done = float(len(self.epochs))
        progress = self.progress
        if progress is not None and progress.epoch > len(self.epochs) and progress.steps:
            done += progress.step / progress.steps
        # Training steps are not all of an epoch (its test pass follows): not 100% until done.
        return min(0.99, done / total)

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
    def best_test_acc(self) -> float | None:
        return max((e.test_acc for e in self.epochs), default=None)


def build_view(record: RunRecord, events: list[Event], cancelling: bool = False) -> RunView:
    view = RunView(record, cancelling=cancelling)
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
        return replace(view, progress=event)
    if isinstance(event, EpochEnd):
        return replace(view, epochs=(*view.epochs, event))
    return view
