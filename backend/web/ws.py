"""WebSockets: the page's HTML fragment stream and the JSON event stream of one run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from backend.services.container import Services
from backend.services.hub import LAGGED, RunUpdate, Subscription
from backend.services.run_store import RunNotFoundError
from backend.services.run_view import RunView, advance
from backend.web import render
from backend.web.deps import ServicesDep

router = APIRouter()
POLICY_VIOLATION = 1008


def origin_allowed(websocket: WebSocket) -> bool:
    """Browsers send Origin on every WebSocket; it must name this host (CORS does not apply)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


async def serve_until_disconnect(
    websocket: WebSocket, sender: Callable[[], Awaitable[None]]
) -> None:
    """Run ``sender`` until it returns or the client goes away, whichever comes first."""

    async def wait_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    send_task = asyncio.create_task(sender())
    receive_task = asyncio.create_task(wait_disconnect())
    done, pending = await asyncio.wait({send_task, receive_task}, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await task
    if send_task in done and not send_task.cancelled():
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            send_task.result()
        if receive_task not in done:
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=1000)


@router.websocket("/ws")
async def page_socket(websocket: WebSocket, services: ServicesDep) -> None:
    if not origin_allowed(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    async with services.hub.subscribe() as subscription:
        await serve_until_disconnect(
            websocket, lambda: _page_stream(websocket, services, subscription)
        )


async def _page_stream(websocket: WebSocket, services: Services, sub: Subscription) -> None:
    view = await _send_snapshot(websocket, services)
    while True:
        item = await sub.get()
        if item is LAGGED or not isinstance(item, RunUpdate):
            view = await _send_snapshot(websocket, services)
            continue
        if view is None or item.record.id != view.id:
            view = await _send_snapshot(websocket, services)
            continue
        view = advance(view, item)
        html = render.run_panel(view, oob=True)
        if render.touches_history(item.event) or not item.record.status.is_active:
            html += render.run_history(view, oob=True)
        if item.event is None or not item.record.status.is_active:
            html += render.runs_list(await asyncio.to_thread(services.store.list), oob=True)
        if not item.record.status.is_active:
            models = await asyncio.to_thread(services.runs.usable_models)
            html += render.model_picker(models, oob=True)
        await websocket.send_text(html)


async def _send_snapshot(websocket: WebSocket, services: Services) -> RunView | None:
    view = await services.runs.current_view()
    records = await asyncio.to_thread(services.store.list)
    models = await asyncio.to_thread(services.runs.usable_models)
    await websocket.send_text(render.snapshot(view, records, models))
    return view


@router.websocket("/api/runs/{run_id}/events")
async def run_events(websocket: WebSocket, run_id: str, services: ServicesDep) -> None:
    """Every event of the run: the stored ones, then live ones; closes after the final one."""
    if not origin_allowed(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    try:
        await asyncio.to_thread(services.store.get, run_id)
    except RunNotFoundError:
        await websocket.close(code=POLICY_VIOLATION, reason=f"no run {run_id!r}")
        return
    await websocket.accept()
    async with services.hub.subscribe() as subscription:
        await serve_until_disconnect(
            websocket, lambda: _event_stream(websocket, services, run_id, subscription)
        )


async def _event_stream(
    websocket: WebSocket, services: Services, run_id: str, sub: Subscription
) -> None:
    sent = 0

    async def replay() -> bool:
        """Send stored events not sent yet; True once the run's final event is out."""
        nonlocal sent
        events = await services.store.aevents(run_id)
        for event in events[sent:]:
            await websocket.send_text(event.encode())
        sent = max(sent, len(events))
        return any(event.is_final for event in events)

    if await replay():
        return
    if not _is_active(services, run_id):
        await replay()
        return
    while True:
        item = await sub.get()
        if item is LAGGED or not isinstance(item, RunUpdate):
            if await replay():
                return
            continue
        if item.record.id != run_id or item.event is None or item.seq is None:
            continue
        if item.seq > sent:
            if await replay():
                return
            continue
        if item.seq == sent:
            await websocket.send_text(item.event.encode())
            sent += 1
        if item.event.is_final:
            return


def _is_active(services: Services, run_id: str) -> bool:
    return services.training.current_record(run_id) is not None
