"""WebSockets: the page's HTML fragment stream and the JSON event stream of one run."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket

from backend.services.container import Services
from backend.services.event_replay import replay_events
from backend.services.hub import ServerMessage, Subscription
from backend.services.run_store import RunNotFoundError
from backend.web.deps import PageFeedDep, ServicesDep
from backend.web.page_feed import PageFeed
from backend.web.sockets import send_within, serve_until_disconnect

router = APIRouter()
POLICY_VIOLATION = 1008


@router.websocket("/ws")
async def page_socket(websocket: WebSocket, services: ServicesDep, feed: PageFeedDep) -> None:
    """The page's live regions: a snapshot, then the fragments each update changes."""
    await websocket.accept()
    timeout = services.settings.send_timeout_seconds
    with services.metrics.websockets.track_inprogress():
        async with feed.pages.subscribe() as subscription:
            await serve_until_disconnect(
                websocket, lambda: _page_stream(websocket, feed, subscription, timeout)
            )


async def _page_stream(
    websocket: WebSocket, feed: PageFeed, sub: Subscription[str], timeout: float
) -> None:
    html = (await feed.snapshot()).html
    while True:
        await send_within(websocket, html, timeout)
        item = await sub.get()
        html = item if isinstance(item, str) else (await feed.snapshot()).html


@router.websocket("/api/runs/{run_id}/events")
async def run_events(websocket: WebSocket, run_id: str, services: ServicesDep) -> None:
    """Every event of the run: the stored ones, then live ones; closes after the final one."""
    try:
        await asyncio.to_thread(services.store.get, run_id)
    except RunNotFoundError:
        await websocket.close(code=POLICY_VIOLATION, reason=f"no run {run_id!r}")
        return
    await websocket.accept()
    with services.metrics.websockets.track_inprogress():
        async with services.hub.subscribe() as subscription:
            await serve_until_disconnect(
                websocket, lambda: _event_stream(websocket, services, run_id, subscription)
            )


async def _event_stream(
    websocket: WebSocket, services: Services, run_id: str, sub: Subscription[ServerMessage]
) -> None:
    async def is_active() -> bool:
        """Waiting or training: its events are still to come."""
        record = await asyncio.to_thread(services.store.find, run_id)
        return record is not None and services.runs.live(record).status.is_active

    timeout = services.settings.send_timeout_seconds
    async with contextlib.aclosing(replay_events(services.store, sub, run_id, is_active)) as events:
        async for event in events:
            await send_within(websocket, event.encode(), timeout)
