"""The run record (``run.json``) shared by the trainer, the CLI and the server's run store."""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from food_vision.atomic import atomic_write_json
from food_vision.events import (
    Cancelled,
    Completed,
    EpochEnd,
    Event,
    Failed,
    Progress,
    Started,
    read_line,
)

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "train.log"
RUN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{5,63}$")


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def is_active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True)
class RunRecord:
    id: str
    status: RunStatus
    config: dict[str, Any]
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    epoch: int = 0
    step: int = 0
    has_model: bool = False
    best_epoch: int = 0
    job_id: int | None = None  # its job in the run queue
    stopped_early: bool = False  # completed by stop and keep
    sweep: str | None = None  # the sweep it belongs to
    parent: str | None = None  # the run it continues

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        known["status"] = RunStatus(known["status"])
        return cls(**known)

    def evolve(self, **changes: Any) -> RunRecord:
        return replace(self, **changes)


def new_run_id() -> str:
    """Sortable by creation time and unique: ``20261125-231502-3f9a1c``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def is_valid_run_id(run_id: str) -> bool:
    return bool(RUN_ID_PATTERN.fullmatch(run_id))


def write_run(folder: Path, record: RunRecord) -> None:
    atomic_write_json(folder / RUN_FILE, record.to_dict())


def read_run(folder: Path) -> RunRecord | None:
    """The record in ``folder``, or None when there is none or it is unreadable."""
    try:
        return RunRecord.from_dict(json.loads((folder / RUN_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_events(folder: Path) -> list[Event]:
    """Every event stored in the run's folder, in order; lines that are not events are
    skipped."""
    try:
        lines = (folder / EVENTS_FILE).read_bytes().splitlines()
    except FileNotFoundError:
        return []
    return [item for item in map(read_line, lines) if isinstance(item, Event)]


def list_runs(root: Path) -> list[RunRecord]:
    """Every readable run under ``root``, newest first."""
    if not root.is_dir():
        return []
    folders = [f for f in root.iterdir() if f.is_dir() and not f.is_symlink()]
    records = [read_run(folder) for folder in folders]
    return sorted((r for r in records if r is not None), key=lambda r: r.created_at, reverse=True)


def apply_event(record: RunRecord, event: Event) -> RunRecord:
    """The record after ``event``: the one place where events move a run's status."""
    if isinstance(event, Started):
        return record.evolve(status=RunStatus.RUNNING, started_at=record.started_at or event.ts)
    if isinstance(event, Progress):
        return record.evolve(epoch=event.epoch, step=event.step)
    if isinstance(event, EpochEnd):
        return record.evolve(epoch=event.epoch, has_model=True, metrics=epoch_metrics(event))
    if isinstance(event, Completed):
        return record.evolve(
            status=RunStatus.COMPLETED,
            finished_at=event.ts,
            metrics=event.metrics,
            has_model=True,
            best_epoch=event.best_epoch,
            stopped_early=event.stopped_early,
        )
    if isinstance(event, Cancelled):
        return record.evolve(
            status=RunStatus.CANCELLED,
            finished_at=event.ts,
            epoch=event.epoch,
            step=event.step,
            has_model=event.has_model,
        )
    if isinstance(event, Failed):
        return record.evolve(status=RunStatus.FAILED, finished_at=event.ts, error=event.error)
    return record


def epoch_metrics(event: EpochEnd) -> dict[str, float]:
    """Train figures, and those of the held-out split the epoch was measured on: validation,
    or test in runs recorded before there was a validation split."""
    figures = {"train_loss": event.train_loss, "train_acc": event.train_acc}
    for split in ("validation", "test"):
        if not math.isnan(getattr(event, f"{split}_acc")):
            figures[f"{split}_loss"] = getattr(event, f"{split}_loss")
            figures[f"{split}_acc"] = getattr(event, f"{split}_acc")
    return figures
