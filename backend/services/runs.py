"""Run operations shared by the JSON API and the page: start with checks, view, delete, and
the models that finished runs left."""

from __future__ import annotations

import asyncio

from backend.services.datasets import DatasetService
from backend.services.downloads import DownloadCheck
from backend.services.hub import Hub, RunsChanged, ServerMessage
from backend.services.run_store import RunStore
from backend.services.run_view import RunView, build_view
from backend.services.training import RunNotActiveError, TrainingManager
from food_vision.bundle import BundleError, ModelMeta, read_meta
from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.registry import UnknownDatasetError
from food_vision.launch import check_processes
from food_vision.runs import RunRecord, RunStatus


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
        hub: Hub[ServerMessage],
        downloads: DownloadCheck | None = None,
    ) -> None:
        self.store = store
        self.training = training
        self.datasets = datasets
        self.hub = hub
        self.downloads = downloads or DownloadCheck()

    async def start(self, config: TrainConfig) -> RunRecord:
        """Check everything a person can get wrong, then start; no process for a bad request.

        Raises ConfigError (with the field; also for a download this server cannot make), or
        RunBusyError when a run is active.
        """
        config = config.resolved()
        check_processes(config.processes)
        try:
            info = await self.datasets.check(config.dataset)
        except UnknownDatasetError as exc:
            raise ConfigError("dataset", str(exc)) from None
        if info.problem:
            raise ConfigError("dataset", info.problem)
        await self.downloads.refuse_impossible(config, info)
        return await self.training.start(config)

    def live(self, record: RunRecord) -> RunRecord:
        """The active run's in-memory record (fresher than run.json between saves), else
        ``record``."""
        return self.training.current_record(record.id) or record

    async def view(self, record: RunRecord) -> RunView:
        events = await self.store.aevents(record.id)
        return build_view(record, events, self.training.is_cancelling(record.id))

    async def current_view(self) -> RunView | None:
        """The active run, else the newest one: what the live panel shows."""
        active = self.training.active
        if active is not None:
            return await self.view(active.record)
        records = await asyncio.to_thread(self.store.list)
        return await self.view(records[0]) if records else None

    async def cancel(self, record: RunRecord) -> RunRecord:
        """Ask the run to stop; a run already cancelled answers as it is (cancel is idempotent).

        Raises RunNotActiveError, naming its status, for a run that ended otherwise.
        """
        try:
            return await self.training.cancel(record.id)
        except RunNotActiveError:
            if record.status is RunStatus.CANCELLED:
                return record
            raise RunNotActiveError(record.id, record.status.value) from None

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
