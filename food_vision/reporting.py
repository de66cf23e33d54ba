"""The trainer's event channel: each event goes to the reader (the server) and, for a run
started by hand, into the run's own files; progress is throttled to a few events a second."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from food_vision.events import Completed, EpochEnd, Event, Progress
from food_vision.runs import (
    EVENTS_FILE,
    RunRecord,
    RunStatus,
    apply_event,
    read_run,
    write_run,
)

if TYPE_CHECKING:  # the engine imports torch, which a refused command line never needs
    from food_vision.engine import EpochResult, StepReport

PROGRESS_INTERVAL_SECONDS = 0.25
E = TypeVar("E", bound=Event)


class Reporter:
    """Writes each event to the event channel and, when standalone, to the run's own files."""

    def __init__(
        self,
        run_id: str,
        channel: TextIO | None,
        out: Path | None,
        on_channel_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.run_id = run_id
        self.channel = channel
        self.out = out
        self.on_channel_lost = on_channel_lost
        self.record: RunRecord | None = None
        self._last_progress = 0.0
        self._listeners: list[Callable[[Event], None]] = []

    def start_record(self, config: dict[str, object]) -> None:
        if self.out is not None:
            parent = config.get("parent")
            self.record = RunRecord(
                self.run_id,
                RunStatus.RUNNING,
                config,
                pid=os.getpid(),
                parent=parent if isinstance(parent, str) else None,
            )
            write_run(self.out, self.record)

    def resume_record(self, config: dict[str, object]) -> None:
        """Go on with the record another process (a run's leading rank) started, if any."""
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            self.record = read_run(self.out) or RunRecord(
                self.run_id, RunStatus.RUNNING, config, pid=os.getpid()
            )

    def listen(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        line = event.encode() + "\n"
        if self.channel is not None:
            try:
                self.channel.write(line)
                self.channel.flush()
            except BrokenPipeError:
                # Nobody reads the events any more (the server is gone): stop, don't train blind.
                self.channel = None
                self.on_channel_lost()
        if self.out is not None and self.record is not None:
            # Only once the run folder exists: a config refused before that leaves no folder.
            with open(self.out / EVENTS_FILE, "a", encoding="utf-8") as handle:
                handle.write(line)
            self.record = apply_event(self.record, event)
            write_run(self.out, self.record)
        for listener in self._listeners:
            listener(event)

    def completed(
        self, metrics: dict[str, float], model_path: Path, best_epoch: int, stopped_early: bool
    ) -> RunStatus:
        """Report the run's end with its model; the status it ends with."""
        self.emit(
            Completed(
                self.run_id,
                metrics=metrics,
                model_path=str(model_path),
                best_epoch=best_epoch,
                stopped_early=stopped_early,
            )
        )
        return RunStatus.COMPLETED

    def progress(self, event: Progress) -> None:
        """Progress is throttled to a few events a second."""
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
            self._last_progress = now
            self.emit(event)


def progress_event(run_id: str, report: StepReport) -> Progress:
    return _event_from(Progress, run_id, report)


def epoch_event(run_id: str, result: EpochResult) -> EpochEnd:
    return _event_from(EpochEnd, run_id, result)


def _event_from(kind: type[E], run_id: str, source: object) -> E:
    """An event whose fields are read off an engine report by name (they share the names);
    a field the report lacks keeps the event's default."""
    names = [spec.name for spec in fields(kind) if spec.name not in ("run_id", "ts")]
    return kind(run_id, **{name: getattr(source, name) for name in names if hasattr(source, name)})


def claim_stdout() -> TextIO:
    """Keep the real stdout for events only; route everything else printed to stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    silence_stdout()
    return channel


def silence_stdout() -> None:
    """Send everything printed to stderr: a rank other than the leader shares the leader's
    stdout, which carries the run's events."""
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
