"""Fan-out of messages (run updates; the page's rendered fragments) to subscribers, one
bounded queue each.

Publishing never waits: a subscriber whose queue is full is marked as lagging and its
messages are dropped until it catches up from a fresh snapshot. So a slow or stalled
WebSocket client never delays the trainer or the other clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from food_vision.events import Event
from food_vision.runs import RunRecord

DEFAULT_QUEUE_SIZE = 256


@dataclass(frozen=True)
class RunUpdate:
    """A run's record after a change, with the event that caused it (if any).

    ``seq`` is the event's index in the run's ``events.jsonl``.
    """

    record: RunRecord
    event: Event | None = None
    seq: int | None = None
    cancelling: bool = False


@dataclass(frozen=True)
class DatasetsChanged:
    """A dataset was made, changed or deleted: pages refresh their list of datasets."""


@dataclass(frozen=True)
class RunsChanged:
    """A run was deleted: pages refresh their list of runs and of models."""


# What the server's run hub carries: run updates, and news that the datasets or runs changed.
ServerMessage = RunUpdate | DatasetsChanged | RunsChanged


class Lagged:
    """Returned once by :meth:`Subscription.get` after messages were dropped."""


LAGGED = Lagged()


Message = TypeVar("Message")


class Subscription(Generic[Message]):
    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=maxsize)
        self._lagged = False

    def offer(self, message: Message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._lagged = True

    async def get(self) -> Message | Lagged:
        if self._lagged:
            self._drain()
            self._lagged = False
            return LAGGED
        return await self._queue.get()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    @property
    def depth(self) -> int:
        return self._queue.qsize()


class Hub(Generic[Message]):
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription[Message]] = set()

    def publish(self, message: Message) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(message)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription[Message]]:
        subscription: Subscription[Message] = Subscription(self.queue_size)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
