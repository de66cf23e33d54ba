"""Predictions for the server: uploads prepared and forward passes run in worker processes
(``inference_worker``), concurrent requests for one model micro-batched, so the event loop
never waits on torch, nor on the GIL torch holds.

The workers run at a lower priority than the server: when the machine is busy, the loop
(health checks, pages, the API) is scheduled first and predictions take the rest.

A request that finds no other prediction under way skips the image worker: the forward worker
decodes it and runs it, one round trip between processes instead of two (EfficientNet-Lite0,
a 0.35 MB photo, sequential requests: p50 33 against 39 ms, three interleaved pairs). Its
forward pass runs on ``lone_threads`` threads, the cores a batch would leave to decoding (the
same requests on two cores: p50 15.7-18.1 ms with 2 threads against 19.8-22.5 ms with 1, two
interleaved pairs of two runs).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from backend.services import inference_worker as worker
from backend.services.inference_worker import ModelKey
from backend.services.micro_batch import MicroBatcher
from backend.services.run_store import RunNotFoundError, RunStore
from backend.services.worker_pool import WorkerPool
from food_vision.bundle import WEIGHTS_FILE, BundleError, ModelMeta
from food_vision.predict import Prediction, top_k
from food_vision.runs import RUN_FILE
from food_vision.settings import DEFAULT_ENGINE, Engine

WORKER_NICENESS = 10
FileIdentity = tuple[int, int, int]  # inode, modification time (ns), size


class ModelNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class InferenceOptions:
    cache_size: int = 4
    batch_window_seconds: float = 0.005
    max_batch: int = 4
    max_pending: int = 64
    threads: int = 1
    max_pixels: int = 40_000_000
    image_workers: int = 1
    engine: Engine = DEFAULT_ENGINE
    lone_threads: int = 1


@dataclass(frozen=True)
class PredictionResult:
    model: str
    predictions: list[Prediction]
    latency_ms: float


@dataclass
class _Loaded:
    key: ModelKey
    folder: Path
    meta: ModelMeta
    batcher: MicroBatcher


def identity(path: os.PathLike[str] | str) -> FileIdentity:
    stat = os.stat(path)
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class InferenceService:
    def __init__(
        self,
        store: RunStore,
        options: InferenceOptions,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.options = options
        self.on_batch = on_batch
        setup = (options.threads, WORKER_NICENESS, options.cache_size, options.engine)
        forward_setup = (*setup, options.lone_threads)
        self._forward = WorkerPool("prediction", 1, worker.start_worker, forward_setup)
        self._images = WorkerPool("image", options.image_workers, worker.start_worker, setup)
        self._cache: OrderedDict[ModelKey, _Loaded] = OrderedDict()
        self._loading: dict[ModelKey, asyncio.Future[_Loaded]] = {}
        self._checked: dict[str, tuple[FileIdentity, FileIdentity]] = {}
        self.batch_sizes: list[int] = []
        self.lone_requests = 0  # requests that went straight to the forward worker
        self._lone = 0  # those under way

    async def start(self) -> None:
        """Start the workers now, so that the first prediction does not wait for them."""
        await asyncio.gather(self._forward.run(worker.ready), self._images.run(worker.ready))

    async def predict(self, run_id: str, data: bytes, k: int) -> PredictionResult:
        """Top-k for one uploaded image; raises ModelNotFoundError, UploadRejected, Overloaded,
        WorkerLost."""
        started = time.perf_counter()
        loaded = await self._load(run_id)
        if loaded.batcher.idle and not self._lone:
            probabilities = await self._alone(loaded, data)
        else:
            with loaded.batcher.coming():
                array = await self._images.run(
                    worker.prepare, data, self.options.max_pixels, loaded.meta.input_size
                )
            probabilities = await loaded.batcher.submit(array)
        (predictions,) = top_k(torch.from_numpy(probabilities[None]), loaded.meta.classes, k)
        latency_ms = (time.perf_counter() - started) * 1000
        return PredictionResult(run_id, predictions, round(latency_ms, 2))

    async def _alone(self, loaded: _Loaded, data: bytes) -> np.ndarray:
        self._lone += 1
        try:
            probabilities = await self._forward.run(
                worker.prepare_and_forward, loaded.key, loaded.folder, data, self.options.max_pixels
            )
        finally:
            self._lone -= 1
        self.lone_requests += 1
        self._count(1)
        row: np.ndarray = probabilities[0]
        return row

    @property
    def queue_depth(self) -> int:
        return sum(loaded.batcher.depth for loaded in self._cache.values())

    async def _load(self, run_id: str) -> _Loaded:
        key = await asyncio.to_thread(self._key, run_id)
        loaded = self._cache.get(key)
        if loaded is not None:
            self._cache.move_to_end(key)
            return loaded
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load_new(key))
            self._loading[key] = pending
            pending.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(pending)

    async def _load_new(self, key: ModelKey) -> _Loaded:
        folder = self.store.folder(key[0])
        try:
            meta = await self._forward.run(worker.load, key, folder)
        except BundleError as exc:
            raise ModelNotFoundError(f"the model of run {key[0]} cannot be used: {exc}") from None
        batcher = MicroBatcher(
            functools.partial(self._forward.run, worker.forward, key, folder),
            window_seconds=self.options.batch_window_seconds,
            max_batch=self.options.max_batch,
            max_pending=self.options.max_pending,
            on_batch=self._count,
        )
        for stale in [k for k in self._cache if k[0] == key[0]]:
            del self._cache[stale]
        self._cache[key] = _Loaded(key, folder, meta, batcher)
        while len(self._cache) > self.options.cache_size:
            self._cache.popitem(last=False)
        return self._cache[key]

    def _key(self, run_id: str) -> ModelKey:
        """Run id plus the weights file's identity: a retrained run never serves old weights.

        The run's record is read only when its file or the weights changed since the last
        check: a warm request costs two ``stat`` calls.
        """
        try:
            folder = self.store.folder(run_id)
            files = (identity(folder / RUN_FILE), identity(folder / WEIGHTS_FILE))
        except (RunNotFoundError, FileNotFoundError, NotADirectoryError):
            raise ModelNotFoundError(f"no trained model {run_id!r}") from None
        if self._checked.get(run_id) != files:
            self._check_record(run_id)
            if len(self._checked) >= 4 * self.options.cache_size:
                self._checked.clear()
            self._checked[run_id] = files
        return (run_id, *files[1])

    def _check_record(self, run_id: str) -> None:
        try:
            record = self.store.get(run_id)
        except RunNotFoundError:
            raise ModelNotFoundError(f"no trained model {run_id!r}") from None
        if record.status.is_active or not record.has_model:
            raise ModelNotFoundError(f"run {run_id} has no finished model yet")

    def _count(self, size: int) -> None:
        self.batch_sizes.append(size)
        del self.batch_sizes[:-1000]
        if self.on_batch is not None:
            self.on_batch(size)

    def cached_models(self) -> list[str]:
        return [key[0] for key in self._cache]

    def close(self) -> None:
        self._forward.close()
        self._images.close()
