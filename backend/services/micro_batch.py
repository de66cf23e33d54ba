"""Micro-batching of single-image requests for one model into batched forward passes.

A request that finds nothing else on its way runs at once; while other requests for the same
model are still being decoded, the batch waits for them up to a short window (or until it is
full). Requests that arrive during a forward pass form the next batch, with no wait; once
that batch is full it is sent at once, so the worker finds it queued when the pass under way
ends instead of waiting for the round trip through the server (EfficientNet-Lite0 at
concurrency 16: 35-38 against 32-35 predictions/s, four interleaved pairs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import numpy as np

Array = np.ndarray
PIPELINE_DEPTH = 2


class OverloadedError(RuntimeError):
    """More requests are waiting than the service accepts; retry shortly."""


class MicroBatcher:
    """Gathers single-image requests for one predictor into batched forward passes."""

    def __init__(
        self,
        forward: Callable[[Array], Awaitable[Array]],
        *,
        window_seconds: float,
        max_batch: int,
        max_pending: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.forward = forward
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.on_batch = on_batch
        self._pending: list[tuple[Array, asyncio.Future[Array]]] = []
        self._coming = 0
        self._arrival = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """Nothing waiting, being prepared or in a forward pass."""
        return (
            not self._pending and not self._coming and (self._worker is None or self._worker.done())
        )

    @contextlib.contextmanager
    def coming(self) -> Iterator[None]:
        """Around the preparation of an image that will be submitted: a batch about to run
        waits for it (up to the window) instead of leaving it for the next one."""
        self._coming += 1
        try:
            yield
        finally:
            self._coming -= 1
            self._arrival.set()

    async def submit(self, array: Array) -> Array:
        """The forward pass's row for ``array`` (one preprocessed image)."""
        if len(self._pending) >= self.max_pending:
            raise OverloadedError("too many predictions are waiting; retry in a moment")
        future: asyncio.Future[Array] = asyncio.get_running_loop().create_future()
        self._pending.append((array, future))
        self._arrival.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _gather(self) -> None:
        """Wait for the requests being prepared right now, at most the window; none, no wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_seconds
        while len(self._pending) < self.max_batch and self._coming > 0:
            self._arrival.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._arrival.wait()
            if loop.time() >= deadline:
                return

    async def _drain(self) -> None:
        await self._gather()
        running: set[asyncio.Task[None]] = set()
        while self._pending or running:
            if self._pending and (not running or self._queue_next(len(running))):
                batch = self._pending[: self.max_batch]
                del self._pending[: len(batch)]
                task = asyncio.create_task(self._run(batch))
                running.add(task)
                task.add_done_callback(running.discard)
                continue
            self._arrival.clear()
            arrival = asyncio.ensure_future(self._arrival.wait())
            try:
                await asyncio.wait({arrival, *running}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrival.cancel()

    def _queue_next(self, running: int) -> bool:
        """A full batch is sent while another runs, so the worker starts it without a round
        trip; a partial one waits for the pass under way and gathers what comes meanwhile."""
        return running < PIPELINE_DEPTH and len(self._pending) >= self.max_batch

    async def _run(self, batch: list[tuple[Array, asyncio.Future[Array]]]) -> None:
        stacked = np.stack([array for array, _ in batch])
        try:
            rows = await self.forward(stacked)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if self.on_batch is not None:
            self.on_batch(len(batch))
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(row)
