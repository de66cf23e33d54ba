"""Predictions for the server: a bounded model cache, and micro-batched forward passes in a
dedicated thread so the event loop never waits on torch.

Concurrent requests for one model are gathered for a short window (or until a batch is full)
and run as one forward pass; each gets its own row of the result.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import Tensor

from backend.services.run_store import RunNotFoundError, RunStore
from backend.services.uploads import decode_image
from food_vision.bundle import WEIGHTS_FILE, BundleError
from food_vision.predict import Prediction, Predictor


class ModelNotFoundError(LookupError):
    pass


class OverloadedError(RuntimeError):
    """More requests are waiting than the service accepts; retry shortly."""


@dataclass(frozen=True)
class InferenceOptions:
    cache_size: int = 4
    batch_window_seconds: float = 0.005
    max_batch: int = 16
    max_pending: int = 64
    threads: int = 1
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class PredictionResult:
    model: str
    predictions: list[Prediction]
    latency_ms: float


class MicroBatcher:
    """Gathers single-image requests for one predictor into batched forward passes."""

    def __init__(
        self,
        forward: Callable[[Tensor], Tensor],
        executor: ThreadPoolExecutor,
        options: InferenceOptions,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.forward = forward
        self.executor = executor
        self.options = options
        self.on_batch = on_batch
        self._pending: list[tuple[Tensor, asyncio.Future[Tensor]]] = []
        self._worker: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        return len(self._pending)

    async def submit(self, tensor: Tensor) -> Tensor:
        if len(self._pending) >= self.options.max_pending:
            raise OverloadedError("too many predictions are waiting; retry in a moment")
        future: asyncio.Future[Tensor] = asyncio.get_running_loop().create_future()
        self._pending.append((tensor, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        if len(self._pending) < self.options.max_batch:
            await asyncio.sleep(self.options.batch_window_seconds)
        while self._pending:
            batch = self._pending[: self.options.max_batch]
            del self._pending[: len(batch)]
            stacked = torch.stack([tensor for tensor, _ in batch])
            try:
                rows = await loop.run_in_executor(self.executor, self.forward, stacked)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if self.on_batch is not None:
                self.on_batch(len(batch))
            for (_, future), row in zip(batch, rows, strict=True):
                if not future.done():
                    future.set_result(row)


@dataclass
class _Loaded:
    predictor: Predictor
    batcher: MicroBatcher


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
        self._forward_pool = ThreadPoolExecutor(1, thread_name_prefix="inference")
        self._decode_pool = ThreadPoolExecutor(2, thread_name_prefix="decode")
        self._cache: OrderedDict[tuple[str, int, int, int], _Loaded] = OrderedDict()
        self._loading: dict[tuple[str, int, int, int], asyncio.Future[_Loaded]] = {}
        self.batch_sizes: list[int] = []
        self._forward_pool.submit(torch.set_num_threads, options.threads).result()

    async def predict(self, run_id: str, data: bytes, top_k: int) -> PredictionResult:
        """Top-k for one uploaded image; raises ModelNotFoundError, UploadRejected, Overloaded."""
        started = time.perf_counter()
        loaded = await self._load(run_id)
        loop = asyncio.get_running_loop()
        tensor = await loop.run_in_executor(self._decode_pool, self._prepare, loaded, data)
        probabilities = await loaded.batcher.submit(tensor)
        (predictions,) = loaded.predictor.top_k(probabilities.unsqueeze(0), top_k)
        latency_ms = (time.perf_counter() - started) * 1000
        return PredictionResult(run_id, predictions, round(latency_ms, 2))

    def _prepare(self, loaded: _Loaded, data: bytes) -> Tensor:
        image = decode_image(data, max_pixels=self.options.max_pixels)
        return loaded.predictor.preprocess(image)

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

    async def _load_new(self, key: tuple[str, int, int, int]) -> _Loaded:
        folder = self.store.folder(key[0])
        loop = asyncio.get_running_loop()
        try:
            predictor = await loop.run_in_executor(
                self._forward_pool, Predictor.from_bundle, folder
            )
        except BundleError as exc:
            raise ModelNotFoundError(f"the model of run {key[0]} cannot be used: {exc}") from None
        loaded = _Loaded(
            predictor,
            MicroBatcher(predictor.probabilities, self._forward_pool, self.options, self._count),
        )
        for stale in [k for k in self._cache if k[0] == key[0]]:
            del self._cache[stale]
        self._cache[key] = loaded
        while len(self._cache) > self.options.cache_size:
            self._cache.popitem(last=False)
        return loaded

    def _key(self, run_id: str) -> tuple[str, int, int, int]:
        """Run id plus the weights file's identity: a retrained run never serves old weights."""
        try:
            record = self.store.get(run_id)
            stat = os.stat(self.store.folder(run_id) / WEIGHTS_FILE)
        except (RunNotFoundError, FileNotFoundError, NotADirectoryError):
            raise ModelNotFoundError(f"no trained model {run_id!r}") from None
        if record.status.is_active or not record.has_model:
            raise ModelNotFoundError(f"run {run_id} has no finished model yet")
        return (run_id, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _count(self, size: int) -> None:
        self.batch_sizes.append(size)
        del self.batch_sizes[:-1000]
        if self.on_batch is not None:
            self.on_batch(size)

    def cached_models(self) -> list[str]:
        return [key[0] for key in self._cache]

    def close(self) -> None:
        self._forward_pool.shutdown(wait=False, cancel_futures=True)
        self._decode_pool.shutdown(wait=False, cancel_futures=True)
