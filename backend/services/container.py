"""The service objects of one app instance, created in its lifespan."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

from backend.services.dataset_library import DatasetLibrary
from backend.services.datasets import DatasetService
from backend.services.evaluations import EvaluationService
from backend.services.exports import ExportService
from backend.services.hub import Hub, ServerMessage
from backend.services.inference import InferenceOptions, InferenceService
from backend.services.metrics import Metrics
from backend.services.private_postgres import PrivatePostgres
from backend.services.remote_runs import RemoteRuns
from backend.services.run_queue import RunQueue
from backend.services.run_store import RunStore
from backend.services.runs import RunService
from backend.services.trainer_launch import TrainerOptions
from backend.services.training import TrainingManager
from food_vision.settings import Settings

log = logging.getLogger("foodvision.server")


@dataclass
class Services:
    settings: Settings
    store: RunStore
    hub: Hub[ServerMessage]
    training: TrainingManager
    runs: RunService
    datasets: DatasetService
    inference: InferenceService
    metrics: Metrics
    exports: ExportService
    evaluations: EvaluationService
    library: DatasetLibrary
    queue: RunQueue
    remote: RemoteRuns
    postgres: PrivatePostgres | None
    ready: bool = False
    _workers_started: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> Services:
        store = RunStore(settings.runs_dir)
        hub: Hub[ServerMessage] = Hub()
        metrics = Metrics(store.list)
        options = TrainerOptions.from_settings(settings)
        training = TrainingManager(store, hub, options, on_finished=metrics.run_finished)
        inference = InferenceService(
            store,
            InferenceOptions(
                cache_size=settings.model_cache_size,
                batch_window_seconds=settings.batch_window_ms / 1000,
                max_batch=settings.max_batch,
                max_pending=settings.max_pending_predictions,
                threads=settings.server_threads,
                max_pixels=settings.max_image_pixels,
                image_workers=settings.image_workers,
                engine=settings.inference_engine,
                lone_threads=settings.lone_prediction_threads,
            ),
            on_batch=metrics.batch_size.observe,
        )
        metrics.queue_depth.set_function(lambda: inference.queue_depth)
        datasets = DatasetService(settings.resolved_data_dir)
        postgres = None
        if not settings.database_url:
            postgres = PrivatePostgres(settings.postgres_dir.resolve())
        url = settings.database_url or (postgres.url if postgres else "")
        queue = RunQueue(url, settings.max_queued, training.run, settings.heartbeat_seconds)
        remote = RemoteRuns(store, hub, queue)
        runs = RunService(store, training, datasets, queue, hub, remote=remote)
        exports = ExportService(store, settings.resolved_data_dir)
        evaluations = EvaluationService(store, settings.resolved_data_dir)
        library = DatasetLibrary(settings, store, hub)
        return cls(
            settings,
            store,
            hub,
            training,
            runs,
            datasets,
            inference,
            metrics,
            exports,
            evaluations,
            library,
            queue,
            remote,
            postgres,
        )

    async def start(self) -> None:
        """Prepare the run store and mark runs left active by an earlier server."""
        await asyncio.to_thread(self.settings.runs_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(self.settings.resolved_data_dir.mkdir, parents=True, exist_ok=True)
        await self.library.clear_leftovers()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.start)
        await self.queue.open()
        await self.remote.start()
        await self.runs.recover()
        if self.settings.server_worker:
            self.queue.start_worker(f"server-{socket.gethostname()}-{os.getpid()}")
        self._workers_started = asyncio.create_task(self.inference.start())
        self._workers_started.add_done_callback(_log_failure)
        self.ready = True

    async def workers_started(self) -> None:
        """Wait for the prediction workers that ``start`` set going (they start in the
        background: the forkserver imports torch, which takes seconds)."""
        if self._workers_started is not None:
            await asyncio.shield(self._workers_started)

    async def stop(self) -> None:
        self.ready = False
        if self._workers_started is not None:
            self._workers_started.cancel()
        await asyncio.gather(self.queue.stop_worker(), self.training.shutdown())
        await self.remote.stop()
        await self.queue.close()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        self.inference.close()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the prediction workers did not start: %s", task.exception())
