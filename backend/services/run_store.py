"""The run store on disk: ``<home>/runs/<run_id>/`` with ``run.json`` and ``events.jsonl``.

Writes from the event loop go through a thread so the loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import shutil
import signal
import time
from collections.abc import Collection
from pathlib import Path

import psutil

from food_vision.atomic import atomic_write_json
from food_vision.bundle import has_bundle
from food_vision.config import TrainConfig
from food_vision.events import Event
from food_vision.process_group import signal_group
from food_vision.runs import (
    CONFIG_FILE,
    EVENTS_FILE,
    LOG_FILE,
    RunRecord,
    RunStatus,
    is_valid_run_id,
    list_runs,
    new_run_id,
    read_events,
    read_run,
    write_run,
)


class RunNotFoundError(LookupError):
    """No run has that id (or the id is not a valid one)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id[:80]!r}")
        self.run_id = run_id


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, run_id: str) -> Path:
        """The run's folder; ids are validated and links refused, so that no id can name a
        path outside root."""
        if not is_valid_run_id(run_id):
            raise RunNotFoundError(run_id)
        folder = self.root / run_id
        if folder.is_symlink():
            raise RunNotFoundError(run_id)
        return folder

    def create(self, config: TrainConfig) -> RunRecord:
        """A new queued run whose folder holds ``config.json``, the trainer's input."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = RunRecord(new_run_id(), RunStatus.QUEUED, config.to_dict(), parent=config.parent)
        folder = self.folder(record.id)
        folder.mkdir()
        atomic_write_json(folder / CONFIG_FILE, record.config)
        write_run(folder, record)
        return record

    def config_path(self, run_id: str) -> Path:
        return self.folder(run_id) / CONFIG_FILE

    def get(self, run_id: str) -> RunRecord:
        record = read_run(self.folder(run_id))
        if record is None:
            raise RunNotFoundError(run_id)
        return record

    def find(self, run_id: str) -> RunRecord | None:
        """The run, or None when it is gone (deleted while it waited)."""
        try:
            return self.get(run_id)
        except RunNotFoundError:
            return None

    def list(self) -> builtins.list[RunRecord]:
        return list_runs(self.root)

    def save(self, record: RunRecord) -> None:
        write_run(self.folder(record.id), record)

    def events(self, run_id: str) -> builtins.list[Event]:
        """Every event stored for the run, in order; lines that are not events are skipped."""
        return read_events(self.folder(run_id))

    def append_event(self, run_id: str, event: Event) -> None:
        with open(self.folder(run_id) / EVENTS_FILE, "a", encoding="utf-8") as handle:
            handle.write(event.encode() + "\n")

    def log_path(self, run_id: str) -> Path:
        return self.folder(run_id) / LOG_FILE

    def log_tail(self, run_id: str, max_bytes: int = 4000) -> str:
        path = self.log_path(run_id)
        try:
            with open(path, "rb") as handle:
                handle.seek(max(0, path.stat().st_size - max_bytes))
                return handle.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def has_model(self, run_id: str) -> bool:
        return has_bundle(self.folder(run_id))

    def delete(self, run_id: str) -> None:
        folder = self.folder(run_id)
        if not folder.is_dir():
            raise RunNotFoundError(run_id)
        shutil.rmtree(folder)

    def recover_interrupted(self, keep: Collection[str] = ()) -> builtins.list[RunRecord]:
        """At start-up: every run an earlier server was training becomes ``interrupted``
        (waiting runs keep their place in the queue; ``keep``: runs live workers elsewhere
        train).

        Nobody reads a left-over trainer's events any more, so one still alive is killed with
        its process group rather than left to run unobserved.
        """
        recovered = []
        for record in self.list():
            if record.status is RunStatus.RUNNING and record.id not in keep:
                if record.pid and _alive(record.pid):
                    signal_group(record.pid, signal.SIGKILL)
                record = record.evolve(
                    status=RunStatus.INTERRUPTED,
                    finished_at=time.time(),
                    error="the server stopped while this run was active",
                    has_model=self.has_model(record.id),
                )
                self.save(record)
                recovered.append(record)
        return recovered

    async def asave(self, record: RunRecord) -> None:
        await asyncio.to_thread(self.save, record)

    async def aappend_event(self, run_id: str, event: Event) -> None:
        await asyncio.to_thread(self.append_event, run_id, event)

    async def aevents(self, run_id: str) -> builtins.list[Event]:
        return await asyncio.to_thread(self.events, run_id)


def _alive(pid: int | None) -> bool:
    """True when ``pid`` is a live trainer (not a zombie, not a recycled unrelated pid)."""
    if not pid or pid == os.getpid():
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return "food_vision.train" in " ".join(process.cmdline())
    except psutil.Error:
        return False
