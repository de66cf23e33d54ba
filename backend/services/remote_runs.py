"""The server's side of runs that ``foodvision worker``s train: their events from PostgreSQL onto
the hub (so the page and ``/api/runs/{id}/events`` stay live), stop-and-keep passed on, and
the runs of a worker that stopped answering ended ``interrupted``, never re-run.

A worker that dies (SIGKILL, machine gone) stops its procrastinate heartbeat; procrastinate
lists its job as stalled, and the server ends the run with a reason that names the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time

from backend.services.event_channel import EVENTS_CHANNEL, STOP_CHANNEL, connect, listen
from backend.services.hub import Hub, RunUpdate, ServerMessage
from backend.services.run_queue import QueueUnavailableError, RunQueue
from backend.services.run_store import RunStore
from backend.services.task_stop import cancel_and_wait
from food_vision.events import decode
from food_vision.runs import RunRecord, RunStatus, apply_event

log = logging.getLogger("foodvision.server")


class RemoteRuns:
    def __init__(self, store: RunStore, hub: Hub[ServerMessage], queue: RunQueue) -> None:
        self.store = store
        self.hub = hub
        self.queue = queue
        self._next_seq: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Make the tables, then follow the workers' events and heartbeats until :meth:`stop`."""
        async with await connect(self.queue.url):
            pass
        self._tasks = [
            asyncio.create_task(listen(self.queue.url, EVENTS_CHANNEL, self.arrived,
                                       on_connect=self._catch_up), name="remote-events"),
            asyncio.create_task(self._reap_forever(), name="remote-heartbeats"),
        ]  # fmt: skip

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []

    async def arrived(self, run_id: str) -> None:
        """Publish the run's events not published yet, in order; with none, its record (a
        change of status without an event)."""
        seq = self._next_seq.get(run_id, 0)
        rows = await self.queue.query(
            "SELECT seq, event FROM foodvision_events WHERE run_id = %(run_id)s "
            "AND seq >= %(seq)s ORDER BY seq",
            run_id=run_id,
            seq=seq,
        )
        record = await asyncio.to_thread(self.store.find, run_id)
        if record is None:
            return
        if not rows:
            self.hub.publish(RunUpdate(record))
        for row in rows:
            event = decode(row["event"])
            record = apply_event(record, event)
            self.hub.publish(RunUpdate(record, event, row["seq"]))
            self._next_seq[run_id] = row["seq"] + 1
            if event.is_final:  # not the record's status: run.json may be ahead of the rows
                await self._forget(run_id)

    async def ask_to_stop(self, record: RunRecord) -> bool:
        """Stop and keep for a run a worker elsewhere trains; False when none has it."""
        if record.status is not RunStatus.RUNNING or record.job_id is None:
            return False
        if not await self.queue.is_pending(record.job_id):
            return False
        await self.queue.query("SELECT pg_notify(%(channel)s, %(run_id)s)",
                               channel=STOP_CHANNEL, run_id=record.id)  # fmt: skip
        return True

    async def held_by_live_workers(self) -> set[str]:
        """Runs that a ``foodvision worker`` with a fresh heartbeat trains right now (a server
        restart must leave them be)."""
        rows = await self.queue.query(
            "SELECT claim.run_id FROM foodvision_run_workers claim "
            "JOIN procrastinate_jobs job ON job.args ->> 'run_id' = claim.run_id "
            "JOIN procrastinate_workers worker ON worker.id = job.worker_id "
            "WHERE job.status = 'doing' AND worker.last_heartbeat > "
            "now() - make_interval(secs => %(seconds)s)",
            seconds=self.queue.stalled_after,
        )
        return {row["run_id"] for row in rows}

    async def reap(self) -> list[RunRecord]:
        """End the runs of workers that stopped answering: ``interrupted``, jobs closed."""
        ended = []
        for job_id, run_id in await self.queue.stalled():
            record = await asyncio.to_thread(self.store.find, run_id)
            if record is not None and record.status.is_active:
                record = await self._interrupt(record)
                ended.append(record)
            await self.queue.fail(job_id)
        return ended

    async def _interrupt(self, record: RunRecord) -> RunRecord:
        worker = await self._worker_of(record.id)
        noticed = time.strftime("%H:%M:%S UTC", time.gmtime())
        record = record.evolve(
            status=RunStatus.INTERRUPTED,
            finished_at=time.time(),
            error=f"worker {worker} stopped answering (no heartbeat for "
            f"{self.queue.stalled_after:.0f} s, noticed at {noticed}); the run was not re-run",
            has_model=await asyncio.to_thread(self.store.has_model, record.id),
        )
        await self.store.asave(record)
        log.warning("run %s: %s", record.id, record.error)
        self.hub.publish(RunUpdate(record))
        await self._forget(record.id)
        return record

    async def _worker_of(self, run_id: str) -> str:
        rows = await self.queue.query(
            "SELECT worker FROM foodvision_run_workers WHERE run_id = %(run_id)s", run_id=run_id
        )
        return str(rows[0]["worker"]) if rows else "(unnamed)"

    async def _forget(self, run_id: str) -> None:
        self._next_seq.pop(run_id, None)
        await self.queue.query(
            "WITH gone AS (DELETE FROM foodvision_events WHERE run_id = %(run_id)s RETURNING 1) "
            "SELECT count(*) AS deleted FROM gone",
            run_id=run_id,
        )

    async def _catch_up(self) -> None:
        """After (re)connecting: what arrived while nobody listened."""
        rows = await self.queue.query("SELECT DISTINCT run_id FROM foodvision_events")
        for row in rows:
            await self.arrived(row["run_id"])

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.queue.heartbeat_seconds)
            try:
                await self.reap()
            except QueueUnavailableError as exc:
                log.warning("checking worker heartbeats: %s", exc)
