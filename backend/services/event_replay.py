"""One run's event stream for a subscriber: every stored event, then the live ones, each
exactly once and in order, ending after the run's final event.

Live events carry their index in ``events.jsonl``; whenever the subscriber misses some (its
queue overflowed, or an event arrives ahead of the next expected one), the missing ones are
read back from the run store, so a slow client catches up instead of skipping events.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from backend.services.hub import Lagged, Message, RunUpdate, ServerMessage, Subscription
from backend.services.run_store import RunStore
from food_vision.events import Event


async def replay_events(
    store: RunStore,
    subscription: Subscription[ServerMessage],
    run_id: str,
    is_active: Callable[[], Awaitable[bool]],
) -> AsyncGenerator[Event, None]:
    """The events to send, in order; a run that is no longer active ends with what is stored.

    Subscribe before calling, so that no event published during the replay is lost.
    """
    cursor = _Cursor(store, run_id)
    for event in await cursor.from_disk():
        yield event
    if not cursor.finished and not await is_active():
        for event in await cursor.from_disk():
            yield event
        return
    while not cursor.finished:
        for event in await cursor.after(await subscription.get()):
            yield event


class _Cursor:
    """How far the stream has got: the number of events handed out, and whether the run's
    final event was among them."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.sent = 0
        self.finished = False

    async def from_disk(self) -> list[Event]:
        """The stored events not handed out yet."""
        events: list[Event] = await self.store.aevents(self.run_id)
        fresh = events[self.sent :]
        self.sent = max(self.sent, len(events))
        self.finished = self.finished or any(event.is_final for event in events)
        return fresh

    async def after(self, item: Message | Lagged) -> list[Event]:
        """What a hub message adds: its event when it is the next one, the stored events when
        some were missed, nothing when it is about another run or was handed out already."""
        if isinstance(item, Lagged):
            return await self.from_disk()
        if (
            not isinstance(item, RunUpdate)
            or item.record.id != self.run_id
            or item.event is None
            or item.seq is None
        ):
            return []
        if item.seq > self.sent:
            return await self.from_disk()
        fresh = [item.event] if item.seq == self.sent else []
        self.sent += len(fresh)
        self.finished = self.finished or item.event.is_final
        return fresh
