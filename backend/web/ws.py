"""WebSockets: the page's HTML fragment stream and the JSON event stream of one run."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket

from backend.services.run_store import RunNotFoundError
from backend.web.deps import PageFeedDep, ServicesDep
from backend.web.sockets import send_within, serve_until_disconnect
from backend.web.streams import Send, page_stream, run_event_stream

router = APIRouter()
POLICY_VIOLATION = 1008


@router.websocket("/ws")
async def page_socket(websocket: WebSocket, services: ServicesDep, feed: PageFeedDep) -> None:
    """The page's live regions: a snapshot, then the fragments each update changes."""
    await websocket.accept()
    send = _sender(websocket, services.settings.send_timeout_seconds)
    with services.metrics.websockets.track_inprogress():
        await serve_until_disconnect(websocket, lambda: page_stream(feed, send))


@router.websocket("/api/runs/{run_id}/events")
async def run_events(websocket: WebSocket, run_id: str, services: ServicesDep) -> None:
    """Every event of the run: the stored ones, then live ones; closes after the final one."""
    try:
        await asyncio.to_thread(services.store.get, run_id)
    except RunNotFoundError:
        await websocket.close(code=POLICY_VIOLATION, reason=f"no run {run_id!r}")
        return
    await websocket.accept()
    send = _sender(websocket, services.settings.send_timeout_seconds)
    with services.metrics.websockets.track_inprogress():
        await serve_until_disconnect(websocket, lambda: run_event_stream(services, run_id, send))


def _sender(websocket: WebSocket, timeout: float) -> Send:
    async def send(text: str) -> None:
        await send_within(websocket, text, timeout)

    return send
