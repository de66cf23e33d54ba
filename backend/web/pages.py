"""The page and its htmx actions. Forms work without JavaScript too (303 back to the page)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.services.container import Services
from backend.services.run_queue import QueueFullError, QueueUnavailableError
from backend.services.samples import list_samples
from backend.services.sweeps import start_sweep
from backend.services.training import RunNotActiveError
from backend.web import render
from backend.web.dataset_panel import panel_html
from backend.web.deps import RunDep, ServicesDep
from backend.web.train_form import (
    default_values,
    parse_sweep_choices,
    parse_train_form,
    submitted_values,
)
from food_vision.config import ConfigError
from food_vision.runs import RunRecord

router = APIRouter(include_in_schema=False)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def page_context(services: Services, dataset: str | None = None) -> dict[str, Any]:
    view = await services.runs.current_view()
    records = await asyncio.to_thread(services.store.list)
    models = await asyncio.to_thread(services.runs.usable_models)
    found = await asyncio.to_thread(list_samples, services.settings.resolved_data_dir)
    return {
        "datasets_panel_html": await panel_html(services, dataset),
        "panel_html": render.run_panel(view),
        "history_html": render.run_history(view),
        "runs_html": render.runs_list(records),
        "queue_html": render.run_queue(await services.runs.waiting(records)),
        "busy": any(record.status.is_active for record in records),
        "datasets": await services.datasets.list(),
        "model_picker_html": render.model_picker(models),
        "samples_html": render.samples(found, has_models=bool(models)),
    }


async def full_page(
    request: Request, services: Services, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The whole page; ``context`` fills or overrides its parts (form values, an open run)."""
    parts = await page_context(services, request.query_params.get("dataset"))
    parts.update(values=default_values(), errors={}, detail_html="")
    return render.templates.TemplateResponse(
        request, "index.html", {**parts, **context}, status_code
    )


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, services: ServicesDep) -> HTMLResponse:
    return await full_page(request, services)


@router.post("/runs", response_class=HTMLResponse)
async def submit_run(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    values = submitted_values(form)
    records, errors = await start_from_form(services, form)
    if not is_htmx(request):
        if not errors:
            return RedirectResponse("/", status_code=303)
        return await full_page(request, services, 422, values=values, errors=errors)
    html = render.render(
        "train_form",
        values=values,
        errors=errors,
        message=await submitted_message(services, records) if records else None,
        started_run=records[0].id if records else None,
        datasets=await services.datasets.list(),
        busy=bool(records) or services.training.active is not None,
    )
    return HTMLResponse(html)


async def submitted_message(services: Services, submitted: list[RunRecord]) -> str:
    """ "started" when nothing else was training or waiting, else its place in the queue; a
    sweep's runs are counted."""
    record = submitted[0]
    if record.sweep is not None:
        return f"Sweep {record.sweep[-6:]} queued: {len(submitted)} runs, listed together below."
    records = await asyncio.to_thread(services.store.list)
    if not any(other.status.is_active and other.id != record.id for other in records):
        return f"Run {record.id} started."
    position = (await services.runs.positions([record])).get(record.id)
    return f"Run {record.id} queued" + (f" (#{position})." if position else ".")


async def start_from_form(services: Services, form: Any) -> tuple[list[RunRecord], dict[str, str]]:
    """The queued runs (one, or a sweep's), or the message for each field (or the whole
    form) that stopped them."""
    config, errors = parse_train_form(form)
    if config is None:
        return [], errors
    base, vary, errors = parse_sweep_choices(form, config)
    try:
        if errors:
            return [], errors
        if vary:
            return (await start_sweep(services.runs, base, vary)).runs, {}
        return [await services.runs.start(config)], {}
    except ConfigError as exc:
        return [], {"form" if exc.field.startswith("vary") else exc.field: exc.message}
    except (QueueFullError, QueueUnavailableError) as exc:
        return [], {"form": str(exc).capitalize() + "."}


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
async def cancel_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    with contextlib.suppress(RunNotActiveError):
        await services.runs.cancel(run)
    return await panel_after_action(request, run, services)


@router.post("/runs/{run_id}/stop", response_class=HTMLResponse)
async def stop_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    with contextlib.suppress(RunNotActiveError):
        await services.runs.stop(run)
    return await panel_after_action(request, run, services)


async def panel_after_action(request: Request, run: RunRecord, services: Services) -> Response:
    """The run panel as the action left it; without JavaScript, back to the page."""
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    live = services.runs.live(services.store.get(run.id))
    return HTMLResponse(render.run_panel(await services.runs.view(live)))
