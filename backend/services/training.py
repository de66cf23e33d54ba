"""Runs each training as its own process and follows its event stream.

The trainer (``python -m food_vision.train --events jsonl``) runs in a new session, so that
cancel can signal its whole process group (DataLoader workers included): SIGTERM first, then
SIGKILL after a grace period. Whatever happens to the process, the run ends with a final event
and status recorded, and no process of its group is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from backend.services.hub import RunUpdate, ServerMessage
from backend.services.run_store import RunStore
from backend.services.trainer_launch import STDOUT_LINE_LIMIT, TrainerOptions, launch_trainer
from food_vision.events import Cancelled, Event, Failed, LogLine, Progress, Started, read_line
from food_vision.process_group import signal_group
from food_vision.runs import RunRecord, RunStatus, apply_event

log = logging.getLogger("foodvision.training")
# A submitter writes the job's id into the run's record milliseconds after queueing it.
SUBMIT_WAIT_SECONDS = 30.0
SUBMIT_POLL_SECONDS = 0.05


class RunNotActiveError(RuntimeError):
    def __init__(self, run_id: str, status: str | None = None) -> None:
        state = f" (it is {status})" if status else ""
        super().__init__(f"run {run_id} is not running{state}")
        self.run_id = run_id


class WorkerStoppingError(RuntimeError):
    """The worker is stopping: the run it just took stays queued for the next start."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"the worker is stopping; run {run_id} stays queued")


@dataclass
class ActiveRun:
    record: RunRecord
    process: asyncio.subprocess.Process
    next_seq: int = 0
    cancelling: bool = False
    stopping: bool = False  # stop and keep asked: the epoch under way is its last
    kill_timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pgid(self) -> int:
        return self.process.pid


class Publisher(Protocol):
    """Where run updates go: the server's hub, or the event channel of a worker elsewhere."""

    def publish(self, message: ServerMessage) -> None: ...


class TrainingManager:
    """One run at a time; run a queued one, follow, cancel, and stop everything at shutdown."""

    def __init__(
        self,
        store: RunStore,
        hub: Publisher,
        options: TrainerOptions,
        on_finished: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.options = options
        self.on_finished = on_finished
        self._active: ActiveRun | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def active(self) -> ActiveRun | None:
        return self._active

    def is_cancelling(self, run_id: str) -> bool:
        return (
            self._active is not None
            and self._active.record.id == run_id
            and self._active.cancelling
        )

    def current_record(self, run_id: str) -> RunRecord | None:
        """The live record of the active run (fresher than run.json between saves)."""
        if self._active is not None and self._active.record.id == run_id:
            return self._active.record
        return None

    async def run(self, run_id: str, job_id: int) -> None:
        """Train a queued run to its end: the task of queue job ``job_id``. Cancelling this
        coroutine (an abort, or the worker stopping) cancels the run as :meth:`cancel` does and
        waits for it to be recorded. A run that is no longer queued (cancelled, deleted) is
        left alone."""
        record = await self._submitted(run_id, job_id)
        if record is None or record.status is not RunStatus.QUEUED:
            log.info("run %s is no longer queued: skipped", run_id)
            return
        starting = asyncio.ensure_future(self._start_one(record))
        try:
            active = await asyncio.shield(starting)
            if active is not None:
                await asyncio.shield(active.done.wait())
        except asyncio.CancelledError:
            active = await starting  # a trainer being launched is cancelled once it runs
            if active is not None:
                with contextlib.suppress(RunNotActiveError):
                    await self.cancel(run_id)
                await active.done.wait()
            raise

    async def _submitted(self, run_id: str, job_id: int) -> RunRecord | None:
        """The run's record once its submitter is done with it. The job is in the queue a
        moment before the record names it (with its sweep): a worker starting from the earlier
        copy would drop what the submitter writes last, or have its own status overwritten by
        it. A submitter that died in that moment never writes: the worker names the job."""
        deadline = time.monotonic() + SUBMIT_WAIT_SECONDS
        while True:
            record = await asyncio.to_thread(self.store.find, run_id)
            if record is None or record.status is not RunStatus.QUEUED or record.job_id == job_id:
                return record
            if self._closing:  # it stays queued: ``_start_one`` says so
                return record
            if time.monotonic() > deadline:
                log.warning("run %s never named its job %s: taken as it is", run_id, job_id)
                return record.evolve(job_id=job_id)
            await asyncio.sleep(SUBMIT_POLL_SECONDS)

    async def _start_one(self, record: RunRecord) -> ActiveRun | None:
        async with self._lock:
            if self._closing:
                raise WorkerStoppingError(record.id)
            return await self._start(record)

    async def _start(self, record: RunRecord) -> ActiveRun | None:
        try:
            process = await launch_trainer(self.options, self.store, record.id)
        except OSError as exc:
            failed = record.evolve(
                status=RunStatus.FAILED,
                finished_at=time.time(),
                error=f"could not start the trainer: {exc}",
            )
            await self.store.asave(failed)
            self.hub.publish(RunUpdate(failed))
            return None
        record = record.evolve(status=RunStatus.RUNNING, pid=process.pid)
        await self.store.asave(record)
        active = self._active = ActiveRun(record, process)
        log.info("run %s started: pid %s, %s", record.id, process.pid, record.config)
        self.hub.publish(RunUpdate(record))
        task = asyncio.create_task(self._follow(active), name=f"follow-{record.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return active

    async def cancel(self, run_id: str) -> RunRecord:
        """Ask the run to stop; idempotent while it is stopping."""
        active = self._active
        if active is None or active.record.id != run_id or not active.record.status.is_active:
            raise RunNotActiveError(run_id)
        if not active.cancelling:
            active.cancelling = True
            signal_group(active.pgid, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            active.kill_timer = loop.call_later(
                self.options.grace_seconds, signal_group, active.pgid, signal.SIGKILL
            )
            log.info("run %s: cancel requested", run_id)
            self.hub.publish(RunUpdate(active.record, cancelling=True))
        return active.record

    async def stop(self, run_id: str) -> RunRecord:
        """Stop and keep: the trainer ends the epoch under way, tests, saves and completes
        (SIGUSR1 to the trainer itself, once its handlers are set). Idempotent."""
        active = self._active
        if (
            active is None
            or active.record.id != run_id
            or active.record.status is not RunStatus.RUNNING
            or active.cancelling
        ):
            raise RunNotActiveError(run_id)
        if not active.stopping:
            active.stopping = True
            if active.record.started_at is not None:
                _ask_to_finish(active)
            log.info("run %s: stop and keep requested", run_id)
            self.hub.publish(RunUpdate(active.record))
        return active.record

    def is_stopping(self, run_id: str) -> bool:
        return (
            self._active is not None
            and self._active.record.id == run_id
            and (self._active.stopping)
        )

    async def wait_idle(self, timeout: float | None = None) -> None:
        active = self._active
        if active is not None:
            await asyncio.wait_for(active.done.wait(), timeout)

    async def shutdown(self) -> None:
        """Start no more runs; cancel the active one and wait for it to be recorded."""
        self._closing = True
        active = self._active
        if active is None:
            return
        with contextlib.suppress(RunNotActiveError):
            await self.cancel(active.record.id)
        with contextlib.suppress(TimeoutError):
            await self.wait_idle(self.options.grace_seconds + 5)

    async def _follow(self, active: ActiveRun) -> None:
        returncode: int | None = None
        try:
            async for item in _lines(active.process):
                if isinstance(item, LogLine):
                    await asyncio.to_thread(self._append_log, active.record.id, item.text)
                    continue
                await self._record(active, item)
                if item.is_final and active.kill_timer is None:
                    # Its work is done: it gets the grace period to exit, no more.
                    active.kill_timer = asyncio.get_running_loop().call_later(
                        self.options.grace_seconds, signal_group, active.pgid, signal.SIGKILL
                    )
            returncode = await active.process.wait()
        finally:
            if active.kill_timer is not None:
                active.kill_timer.cancel()
            signal_group(active.pgid, signal.SIGKILL)
            if returncode is None:
                returncode = await active.process.wait()
            if active.record.status.is_active:
                await self._record(active, await self._final_event(active, returncode))
            log.info(
                "run %s finished: %s (exit %s) in %.1fs",
                active.record.id,
                active.record.status.value,
                returncode,
                (active.record.finished_at or time.time()) - active.record.created_at,
            )
            if self.on_finished is not None:
                self.on_finished(active.record)
            self._active = None
            active.done.set()

    async def _record(self, active: ActiveRun, event: Event) -> None:
        seq = active.next_seq
        active.next_seq += 1
        await self.store.aappend_event(active.record.id, event)
        active.record = apply_event(active.record, event)
        if isinstance(event, Started) and active.stopping:
            _ask_to_finish(active)  # asked before its handlers were set
        if not isinstance(event, Progress):
            await self.store.asave(active.record)
        self.hub.publish(RunUpdate(active.record, event, seq, active.cancelling))

    async def _final_event(self, active: ActiveRun, returncode: int) -> Event:
        """The event a trainer that ended without one would have sent."""
        run_id = active.record.id
        if active.cancelling:
            has_model = await asyncio.to_thread(self.store.has_model, run_id)
            return Cancelled(
                run_id, epoch=active.record.epoch, step=active.record.step, has_model=has_model
            )
        tail = await asyncio.to_thread(self.store.log_tail, run_id)
        if returncode < 0:
            name = signal.Signals(-returncode).name
            error = f"the trainer was killed by {name}"
            if -returncode == signal.SIGKILL:
                error += " (out of memory, or stopped from outside)"
        else:
            error = f"the trainer exited with status {returncode} without reporting"
            last = _last_line(tail)
            if last:
                error += f": {last}"
        return Failed(run_id, error=error[:300], detail=tail)

    def _append_log(self, run_id: str, text: str) -> None:
        with open(self.store.log_path(run_id), "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


async def _lines(process: asyncio.subprocess.Process) -> AsyncIterator[Event | LogLine]:
    """Events and log lines from the trainer's stdout; an over-long line is kept as a log."""
    assert process.stdout is not None
    while True:
        try:
            line = await process.stdout.readline()
        except ValueError:
            yield LogLine(f"[a line over {STDOUT_LINE_LIMIT} bytes was dropped]")
            continue
        if not line:
            return
        yield read_line(line)


def _ask_to_finish(active: ActiveRun) -> None:
    """SIGUSR1 to the trainer alone: its data loader workers would die of it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(active.process.pid, signal.SIGUSR1)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
