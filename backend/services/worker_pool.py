"""A pool of worker processes that the event loop awaits, rebuilt when one of them dies.

The processes are forked from a forkserver that imports the inference code (torch) once, so
a new worker starts in a fraction of a second and shares those pages with its siblings.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TypeVar

Result = TypeVar("Result")
PRELOAD = ["backend.services.inference_worker"]


class WorkerLost(RuntimeError):
    """A worker process died while it held this request; the next one gets a fresh worker."""


@functools.cache
def forkserver() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class WorkerPool:
    def __init__(
        self,
        name: str,
        processes: int,
        initializer: Callable[..., None],
        initargs: tuple[object, ...],
    ) -> None:
        self.name = name
        self._make = functools.partial(
            ProcessPoolExecutor,
            processes,
            mp_context=forkserver(),
            initializer=initializer,
            initargs=initargs,
        )
        self._pool = self._make()

    async def run(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(*args)`` in a worker process (both must pickle)."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = self._make()
                pool.shutdown(wait=False, cancel_futures=True)
            raise WorkerLost(
                f"the {self.name} worker stopped during this request; retry in a moment"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
