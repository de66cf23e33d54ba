"""What both web layers stream over their WebSockets, written once against a ``send``
callable: the page's HTML fragments and one run's JSON events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from backend.services.container import Services
from backend.services.event_replay import replay_events
from backend.web.page_feed import PageFeed

Send = Callable[[str], Awaitable[None]]


async def page_stream(feed: PageFeed, send: Send) -> None:
    """The page's live regions: a snapshot, then the fragments each update changes; a page
    that fell behind gets a fresh snapshot instead of its backlog."""
    async with feed.pages.subscribe() as sub:
        html = (await feed.snapshot()).html
        while True:
            await send(html)
            item = await sub.get()
            html = item if isinstance(item, str) else (await feed.snapshot()).html


async def run_event_stream(services: Services, run_id: str, send: Send) -> None:
    """Every event of the run: the stored ones, then live ones, ending after the final one."""

    async def is_active() -> bool:
        """Waiting or training: its events are still to come."""
        record = await asyncio.to_thread(services.store.find, run_id)
        return record is not None and services.runs.live(record).status.is_active

    async with services.hub.subscribe() as sub:
        replay = replay_events(services.store, sub, run_id, is_active)
        async with contextlib.aclosing(replay) as events:
            async for event in events:
                await send(event.encode())
