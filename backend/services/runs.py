"""Run operations shared by the JSON API and the page: start with checks, view, delete, and
the models that finished runs left."""

from __future__ import annotations

import asyncio
import logging

from backend.services.datasets import DatasetService
from backend.services.downloads import DownloadCheck
from backend.services.hub import Hub, RunsChanged, RunUpdate, ServerMessage
from backend.services.remote_runs import RemoteRuns
from backend.services.run_queue import QueueUnavailableError, RunQueue
from backend.services.run_store import RunStore
from backend.services.run_view import RunView, build_view
from backend.services.training import RunNotActiveError, TrainingManager
from food_vision.bundle import BundleError, ModelMeta, read_meta
from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.registry import UnknownDatasetError
from food_vision.events import Cancelled, Event
from food_vision.launch import check_processes
from food_vision.lineage import (
    ParentRun,
    ancestor_epochs,
    check_classes,
    continue_config,
    not_continuable,
    open_parent,
)
from food_vision.runs import RunRecord, RunStatus, apply_event

log = logging.getLogger("foodvision.server")


class RunActiveError(RuntimeError):
    """The run is queued or running, so it cannot be deleted yet."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} is active; cancel it first")
        self.run_id = run_id


Model = tuple[RunRecord, ModelMeta]


def best_model(models: list[Model]) -> RunRecord | None:
    """The model a person most likely wants: the best test accuracy (as the model's own
    metadata gives it) among completed runs, the newest among equals (``models`` is newest
    first); a cancelled run's model only when no run completed."""
    completed = [model for model in models if model[0].status is RunStatus.COMPLETED]
    if completed:
        return max(completed, key=lambda model: model[1].metrics.get("test_acc") or 0.0)[0]
    return models[0][0] if models else None


class RunService:
    def __init__(
        self,
        store: RunStore,
        training: TrainingManager,
        datasets: DatasetService,
        queue: RunQueue,
        hub: Hub[ServerMessage],
        downloads: DownloadCheck | None = None,
        remote: RemoteRuns | None = None,
    ) -> None:
        self.store = store
        self.training = training
        self.datasets = datasets
        self.queue = queue
        self.hub = hub
        self.downloads = downloads or DownloadCheck()
        self.remote = remote

    async def start(self, config: TrainConfig) -> RunRecord:
        """Check everything a person can get wrong, then queue the run; a worker starts it.

        Raises ConfigError (with the field; also for a download this server cannot make),
        QueueFullError past the cap, or QueueUnavailableError when the queue's database does
        not answer.
        """
        (record,) = await self.start_many([config])
        return record

    async def start_many(
        self, configs: list[TrainConfig], sweep: str | None = None
    ) -> list[RunRecord]:
        """Check every config, then queue them all in order, or none (past the cap)."""
        checked = [await self._checked(config) for config in configs]
        records = []
        async with self.queue.slot(len(checked)):
            for config in checked:
                records.append(await self._queue(config, sweep))
        return records

    async def _checked(self, config: TrainConfig) -> TrainConfig:
        parent = await self._parent(config.parent) if config.parent is not None else None
        if parent is not None:
            config = continue_config(config, parent)
        config = config.resolved()
        check_processes(config.processes)
        try:
            info = await self.datasets.check(config.dataset)
        except UnknownDatasetError as exc:
            raise ConfigError("dataset", str(exc)) from None
        if info.problem:
            raise ConfigError("dataset", info.problem)
        if parent is not None and info.summary is not None:
            check_classes(parent, list(info.summary.classes), config.dataset)
        await self.downloads.refuse_impossible(config, info)
        return config

    async def _parent(self, run_id: str) -> ParentRun:
        """The run a new one continues, usable now: ConfigError when there is none, else
        ParentUnusableError naming its state (or what is wrong with its model)."""
        for state, busy in (
            ("stopping", self.training.is_stopping),
            ("being cancelled", self.training.is_cancelling),
        ):
            if busy(run_id):
                raise not_continuable(run_id, state)
        return await asyncio.to_thread(open_parent, run_id, self.store.root)

    async def _queue(self, config: TrainConfig, sweep: str | None) -> RunRecord:
        record = await asyncio.to_thread(self.store.create, config)
        try:
            record = record.evolve(job_id=await self.queue.defer(record.id), sweep=sweep)
        except BaseException:
            await asyncio.to_thread(self.store.delete, record.id)
            raise
        await self.store.asave(record)
        self.hub.publish(RunUpdate(record))
        return record

    async def recover(self) -> None:
        """At start-up: runs an earlier server was training become ``interrupted`` (their
        jobs closed, never re-run; runs of live workers elsewhere go on); a waiting run that
        lost its job is queued again."""
        elsewhere = await self.remote.held_by_live_workers() if self.remote else set()
        for record in await asyncio.to_thread(self.store.recover_interrupted, elsewhere):
            log.warning("run %s was left active by an earlier server: interrupted", record.id)
            if record.job_id is not None:
                await self.queue.fail(record.job_id)
        for record in await asyncio.to_thread(self.store.list):
            if record.status is not RunStatus.QUEUED:
                continue
            if record.job_id is None or not await self.queue.is_pending(record.job_id):
                log.warning("run %s had lost its place in the queue: queued again", record.id)
                await self.store.asave(record.evolve(job_id=await self.queue.defer(record.id)))

    async def positions(self, records: list[RunRecord]) -> dict[str, int]:
        """Place in the queue of each of ``records`` that waits: 1 is next, 0 a worker is
        starting it. The database is only asked when one waits, so reading finished runs never
        needs it."""
        queued = [record.id for record in records if record.status is RunStatus.QUEUED]
        if not queued:
            return {}
        places = {run_id: place for place, run_id in enumerate(await self.queue.waiting(), 1)}
        return {run_id: places.get(run_id, 0) for run_id in queued}

    def live(self, record: RunRecord) -> RunRecord:
        """The active run's in-memory record (fresher than run.json between saves), else
        ``record``."""
        return self.training.current_record(record.id) or record

    async def view(self, record: RunRecord) -> RunView:
        events = await self.store.aevents(record.id)
        inherited = await asyncio.to_thread(ancestor_epochs, record, self.store.root)
        return build_view(record, events, self.training.is_cancelling(record.id), inherited)

    async def current_view(self) -> RunView | None:
        """The active run, else the newest one: what the live panel shows."""
        active = self.training.active
        if active is not None:
            return await self.view(active.record)
        records = await asyncio.to_thread(self.store.list)
        return await self.view(records[0]) if records else None

    async def waiting(self, records: list[RunRecord]) -> list[tuple[RunRecord, int | None]]:
        """The waiting runs of ``records`` in the order they start, with their places (None
        while the queue's database does not answer: the page still shows them)."""
        try:
            positions: dict[str, int | None] = dict(await self.positions(records))
        except QueueUnavailableError:
            positions = {}
        queued = [record for record in records if record.status is RunStatus.QUEUED]
        return sorted(
            ((r, positions.get(r.id)) for r in queued), key=lambda pair: pair[0].created_at
        )

    async def cancel(self, record: RunRecord) -> RunRecord:
        """End a waiting run at once, or ask a running one to stop; a run already cancelled
        answers as it is (cancel is idempotent).

        Raises RunNotActiveError, naming its status, for a run that ended otherwise.
        """
        record = self.live(record)
        job_id = record.job_id if record.status is RunStatus.QUEUED else None
        if job_id is not None and await self.queue.cancel_waiting(job_id):
            cancelled = Cancelled(record.id, epoch=0, step=0, has_model=False)
            return await self._end(record, cancelled)
        try:
            return await self.training.cancel(record.id)
        except RunNotActiveError:
            if record.status.is_active and record.job_id is not None:
                await self.queue.abort(record.job_id)  # a worker elsewhere runs it
                return record
            if record.status is RunStatus.CANCELLED:
                return record
            raise RunNotActiveError(record.id, record.status.value) from None

    async def stop(self, record: RunRecord) -> RunRecord:
        """Stop and keep a running run (idempotent while it stops).

        Raises RunNotActiveError, naming its state, for a run that is not running.
        """
        try:
            return await self.training.stop(record.id)
        except RunNotActiveError:
            live = self.live(record)
            elsewhere = self.training.current_record(record.id) is None
            if elsewhere and self.remote is not None and await self.remote.ask_to_stop(live):
                return live  # a worker elsewhere trains it
            cancelling = self.training.is_cancelling(record.id)
            state = "being cancelled" if cancelling else live.status.value
            raise RunNotActiveError(record.id, state) from None

    async def _end(self, record: RunRecord, event: Event) -> RunRecord:
        """Record the final event of a run that no trainer reports (it never started)."""
        await self.store.aappend_event(record.id, event)
        record = apply_event(record, event)
        await self.store.asave(record)
        self.hub.publish(RunUpdate(record, event, seq=0))  # its only event
        return record

    async def delete(self, record: RunRecord) -> None:
        if record.status.is_active:
            raise RunActiveError(record.id)
        await asyncio.to_thread(self.store.delete, record.id)
        self.hub.publish(RunsChanged())

    def usable_models(self) -> list[Model]:
        """Runs that finished with weights (completed, or cancelled after an epoch), newest
        first."""
        models = []
        for record in self.store.list():
            if record.status.is_active or not record.has_model:
                continue
            try:
                meta = read_meta(self.store.folder(record.id))
            except BundleError:
                continue
            if self.store.has_model(record.id):
                models.append((record, meta))
        return models

    def usable_model(self, run_id: str) -> Model | None:
        """The usable model of run ``run_id``, if it has one."""
        return next((model for model in self.usable_models() if model[0].id == run_id), None)
