"""The services' own asyncio loop, in a background thread of the WSGI worker.

The services are asyncio code (the queue worker, the trainer's event pipe, the hub, the
micro-batcher), and they hold the run state, so they live on one long-lived loop; Flask's
request threads hand them coroutines through ``asyncio.run_coroutine_threadsafe`` and wait
for the answer. No view starts a loop of its own, so no loop-bound object is ever shared
between two loops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from backend.services.container import Services
from backend.web.page_feed import PageFeed
from food_vision.settings import Settings

T = TypeVar("T")
log = logging.getLogger("foodvision.server")


class NotReady(RuntimeError):
    """The services are still starting, or already stopping."""


class ServiceLoop:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_forever, name="services", daemon=True)
        self._services: Services | None = None
        self._serving = False
        self._feed: PageFeed | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._started: concurrent.futures.Future[None] | None = None
        self._stopped: concurrent.futures.Future[None] | None = None

    def start(self) -> None:
        """Start the loop and, on it, the services (``ready`` says when they are)."""
        self._thread.start()
        self._started = self.submit(self._start())

    async def _start(self) -> None:
        self._services = Services.create(self.settings)
        await self._services.start()
        # Readiness waits for the prediction workers, so that the first requests are not the
        # ones held while the forkserver imports torch.
        await self._services.workers_started()
        self._feed = PageFeed(self._services)
        self._feed_task = asyncio.create_task(self._feed.run())
        self._serving = True
        log.info("FoodVision ready: run store %s", self.settings.runs_dir.resolve())

    @property
    def ready(self) -> bool:
        return self._serving and not self.stopping.is_set()

    @property
    def services(self) -> Services:
        """The started services (waiting while they start); :class:`NotReady` once they stop."""
        if self._started is not None and not self.stopping.is_set():
            self._started.result()
        if self._services is None or self.stopping.is_set():
            raise NotReady("the server is stopping; retry in a moment")
        return self._services

    @property
    def feed(self) -> PageFeed:
        if self._feed is None:
            raise NotReady("the server is starting; retry in a moment")
        return self._feed

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the services' loop and wait for its result (or its exception)."""
        return self.submit(coro).result()

    def begin_stop(self) -> None:
        """Stop the services (the running run is cancelled and recorded); open sockets end."""
        if not self.stopping.is_set():
            self.stopping.set()
            self._stopped = self.submit(self._stop())

    def close(self, timeout: float) -> None:
        """Wait for the services to stop, then end the loop and its thread."""
        self.begin_stop()
        assert self._stopped is not None
        try:
            self._stopped.result(timeout)
        except Exception:
            log.exception("the services did not stop cleanly")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    async def _stop(self) -> None:
        if self._feed_task is not None:
            self._feed_task.cancel()
        if self._started is not None:
            with contextlib.suppress(Exception):  # a failed start still stops what it began
                await asyncio.wrap_future(self._started)
        if self._services is not None:
            await self._services.stop()
