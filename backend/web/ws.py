"""WebSockets: the page's HTML fragment stream and the JSON event stream of one run."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket

from backend.services.container import Services
from backend.services.event_replay import replay_events
from backend.services.hub import LAGGED, DatasetsChanged, RunUpdate, Subscription
from backend.services.run_store import RunNotFoundError
from backend.services.run_view import RunView, advance
from backend.web import render
from backend.web.deps import ServicesDep
from backend.web.sockets import serve_until_disconnect

router = APIRouter()
POLICY_VIOLATION = 1008


@router.websocket("/ws")
async def page_socket(websocket: WebSocket, services: ServicesDep) -> None:
    await websocket.accept()
    async with services.hub.subscribe() as subscription:
        await serve_until_disconnect(
            websocket, lambda: _page_stream(websocket, services, subscription)
        )


async def _page_stream(websocket: WebSocket, services: Services, sub: Subscription) -> None:
    view = await _send_snapshot(websocket, services)
    while True:
        item = await sub.get()
        if isinstance(item, DatasetsChanged):
            await websocket.send_text(render.dataset_choice(await services.datasets.list()))
            continue
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
    datasets = render.dataset_choice(await services.datasets.list())
    await websocket.send_text(render.snapshot(view, records, models) + datasets)
    return view


@router.websocket("/api/runs/{run_id}/events")
async def run_events(websocket: WebSocket, run_id: str, services: ServicesDep) -> None:
    """Every event of the run: the stored ones, then live ones; closes after the final one."""
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
    def is_active() -> bool:
        return services.training.current_record(run_id) is not None

    async with contextlib.aclosing(replay_events(services.store, sub, run_id, is_active)) as events:
        async for event in events:
            await websocket.send_text(event.encode())
