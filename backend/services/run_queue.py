"""Runs as jobs on procrastinate (PostgreSQL): submission order, a cap on waiting runs, atomic
cancel of a waiting run, abort of a running one, and exactly-once pickup by any worker.

The job carries only the run id; the run's folder in the shared run store holds the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, LiteralString, Protocol

import procrastinate
import procrastinate.worker
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Status

log = logging.getLogger("foodvision.queue")
TRAINING_QUEUE = "training"
TRAIN_TASK = "foodvision.train_run"
WORKER_RESTART_SECONDS = 2.0

RunTask = Callable[[str, int], Awaitable[None]]  # (run id, job id)


class QueueWorker(Protocol):
    """What this module uses of procrastinate's worker (which has no type hints)."""

    def stop(self) -> None: ...

    async def run(self) -> None: ...


class QueueFullError(RuntimeError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the queue already holds {limit} waiting runs (FOODVISION_MAX_QUEUED); "
            "wait for some to start or cancel one"
        )


class QueueUnavailableError(RuntimeError):
    """The queue's database does not answer."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the run queue's database is unavailable ({type(cause).__name__}); "
                         "try again once it is back")  # fmt: skip


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[None]:
    """Database failures as :class:`QueueUnavailableError`."""
    try:
        yield
    except (procrastinate_errors.ConnectorException, psycopg.Error, OSError) as exc:
        raise QueueUnavailableError(exc) from exc


def build_app(url: str, run_task: RunTask | None = None) -> procrastinate.App:
    """The procrastinate app over ``url``; with ``run_task`` it can also work on runs."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=4)
    )

    async def train_run(context: procrastinate.JobContext, run_id: str) -> None:
        if run_task is None or context.job.id is None:
            raise RuntimeError("this process only submits runs")
        await run_task(run_id, context.job.id)

    app.task(name=TRAIN_TASK, queue=TRAINING_QUEUE, pass_context=True)(train_run)
    return app


class RunQueue:
    """The training queue of one process: submit, order, cancel, and (optionally) work."""

    def __init__(
        self,
        url: str,
        max_queued: int,
        run_task: RunTask | None = None,
        heartbeat_seconds: float = 10.0,
    ) -> None:
        self.app = build_app(url, run_task)
        self.url = url
        self.max_queued = max_queued
        self.heartbeat_seconds = heartbeat_seconds
        self._submitting = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None
        self._running: QueueWorker | None = None

    async def open(self) -> None:
        """Connect, and create procrastinate's tables on first use."""
        async with _database():
            await self.app.open_async()
            exists = await self.app.connector.execute_query_one_async(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
            )
            if not exists["present"]:
                await self.app.schema_manager.apply_schema_async()

    async def close(self) -> None:
        await self.stop_worker()
        await self.app.close_async()

    @contextlib.asynccontextmanager
    async def slot(self, count: int = 1) -> AsyncIterator[None]:
        """Held while ``count`` runs are submitted; refused when they would pass the cap.
        Submissions go one at a time, so concurrent ones never pass it."""
        async with self._submitting:
            if len(await self.waiting()) + count > self.max_queued:
                raise QueueFullError(self.max_queued)
            yield

    async def defer(self, run_id: str) -> int:
        """Queue the run (its record is written): its job id."""
        async with _database():
            deferrer = self.app.configure_task(TRAIN_TASK, queue=TRAINING_QUEUE)
            return await deferrer.defer_async(run_id=run_id)

    async def waiting(self) -> list[str]:
        """Run ids of waiting jobs in the order they will start."""
        async with _database():
            jobs = await self.app.job_manager.list_jobs_async(
                queue=TRAINING_QUEUE, status=Status.TODO.value
            )
        ordered = sorted(jobs, key=lambda job: job.id or 0)
        return [str(job.task_kwargs["run_id"]) for job in ordered]

    async def is_pending(self, job_id: int) -> bool:
        """True while the job waits or a worker has it."""
        async with _database():
            status = await self.app.job_manager.get_job_status_async(job_id)
        return status in (Status.TODO, Status.DOING)

    async def cancel_waiting(self, job_id: int) -> bool:
        """Take a waiting job off the queue; False when a worker already took it."""
        async with _database():
            return await self.app.job_manager.cancel_job_by_id_async(job_id)

    async def abort(self, job_id: int) -> bool:
        """Ask the worker running the job to abort it (its task is cancelled)."""
        async with _database():
            return await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True)

    async def fail(self, job_id: int) -> None:
        """Close the job of a run that ended without its worker (it is never re-run)."""
        async with _database():
            await self.app.job_manager.finish_job_by_id_async(
                job_id, status=Status.FAILED, delete_job=False
            )

    @property
    def stalled_after(self) -> float:
        """A worker silent for three heartbeats is gone (one late beat is not)."""
        return 3 * self.heartbeat_seconds

    async def stalled(self) -> list[tuple[int, str]]:
        """``(job id, run id)`` of the runs whose worker stopped answering."""
        async with _database():
            jobs = await self.app.job_manager.get_stalled_jobs(
                queue=TRAINING_QUEUE, seconds_since_heartbeat=self.stalled_after
            )
        return [(job.id, str(job.task_kwargs["run_id"])) for job in jobs if job.id is not None]

    async def query(self, sql: LiteralString, **arguments: object) -> list[dict[str, Any]]:
        """Rows of ``sql`` (``%(name)s`` placeholders) on the queue's database."""
        async with _database():
            rows: list[dict[str, Any]] = await self.app.connector.execute_query_all_async(
                sql, **arguments
            )
        return rows

    def start_worker(self, name: str) -> None:
        """Work on runs, one at a time, until :meth:`stop_worker`; restarted after a database
        outage."""
        self._worker = asyncio.create_task(self._work(name), name=f"queue-worker-{name}")

    async def stop_worker(self) -> None:
        """Take no more runs; a run under way is waited for (``TrainingManager.shutdown``
        ends it). A working worker is stopped by procrastinate's own stop, an event: a
        cancellation that lands as its connection pool hands over a connection is lost."""
        task, self._worker = self._worker, None
        if task is None:
            return
        if self._running is not None:
            self._running.stop()
        else:  # not started yet, or waiting to restart: nothing in it can lose a cancellation
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _work(self, name: str) -> None:
        while self._worker is not None:  # until stop_worker
            worker: QueueWorker = procrastinate.worker.Worker(
                self.app,
                name=name,
                queues=[TRAINING_QUEUE],
                concurrency=1,
                install_signal_handlers=False,
                abort_job_polling_interval=1.0,
                update_heartbeat_interval=self.heartbeat_seconds,
                stalled_worker_timeout=self.stalled_after,
            )
            self._running = worker
            try:
                await worker.run()
            except (procrastinate_errors.ProcrastinateException, OSError) as exc:
                log.warning("queue worker lost the database (%s); retrying", exc)
            finally:
                self._running = None
            if self._worker is not None:
                await asyncio.sleep(WORKER_RESTART_SECONDS)
