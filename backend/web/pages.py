"""The page and its htmx actions. Forms work without JavaScript too (303 back to the page)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.services.container import Services
from backend.services.runs import run_view, start_run, usable_models
from backend.services.samples import list_samples
from backend.services.training import RunBusyError, RunNotActiveError
from backend.web import render
from backend.web.deps import RunDep, ServicesDep
from backend.web.ws import current_view
from food_vision.config import ConfigError, TrainConfig
from food_vision.models import ARCHITECTURES, DEFAULT_ARCHITECTURE

router = APIRouter(include_in_schema=False)
FORM_DEFAULTS = {
    "dataset": "demo",
    "architecture": DEFAULT_ARCHITECTURE,
    "epochs": "5",
    "learning_rate": "0.001",
    "batch_size": "32",
    "pretrained": True,
}


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def parse_train_form(form: Mapping[str, Any]) -> tuple[TrainConfig | None, dict[str, str]]:
    """A config from the form's strings, or the message for each field that is wrong."""
    errors: dict[str, str] = {}

    def number(field: str, kind: type[int] | type[float]) -> Any:
        text = str(form.get(field, "")).strip()
        try:
            value = kind(text)
        except ValueError:
            errors[field] = "Enter a whole number." if kind is int else "Enter a number."
            return None
        if kind is float and not math.isfinite(value):
            errors[field] = "Enter a finite number."
            return None
        return value

    epochs = number("epochs", int)
    learning_rate = number("learning_rate", float)
    batch_size = number("batch_size", int)
    if errors:
        return None, errors
    architecture = str(form.get("architecture", ""))
    arch = ARCHITECTURES.get(architecture)
    wants_pretrained = form.get("pretrained") in ("on", "true", "1", True)
    config = TrainConfig(
        dataset=str(form.get("dataset", "")),
        architecture=architecture,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        pretrained=bool(wants_pretrained and arch is not None and arch.has_pretrained),
    )
    return config, errors


async def page_context(services: Services) -> dict[str, Any]:
    view = await current_view(services)
    records = await asyncio.to_thread(services.store.list)
    return {
        "panel_html": render.run_panel(view),
        "history_html": render.run_history(view),
        "runs_html": render.runs_list(records),
        "datasets": await services.datasets.list(),
        "models": await asyncio.to_thread(usable_models, services),
        "samples": await asyncio.to_thread(list_samples, services.settings.resolved_data_dir),
    }


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, services: ServicesDep) -> HTMLResponse:
    context = await page_context(services)
    return render.templates.TemplateResponse(
        request, "index.html", {**context, "values": FORM_DEFAULTS, "errors": {}}
    )


@router.post("/runs", response_class=HTMLResponse)
async def submit_run(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    values = {**FORM_DEFAULTS, **{key: str(value) for key, value in form.items()}}
    values["pretrained"] = "pretrained" in form
    config, errors = parse_train_form(form)
    message = None
    if config is not None:
        try:
            record = await start_run(services, config)
            message = f"Run {record.id} started."
        except ConfigError as exc:
            errors[exc.field] = exc.message
        except RunBusyError as exc:
            errors["form"] = f"Run {exc.run_id} is still active: cancel it or wait until it ends."
    if not is_htmx(request):
        if not errors:
            return RedirectResponse("/", status_code=303)
        context = await page_context(services)
        return render.templates.TemplateResponse(
            request, "index.html", {**context, "values": values, "errors": errors}, 422
        )
    datasets = await services.datasets.list()
    html = render.render(
        "train_form", values=values, errors=errors, message=message, datasets=datasets
    )
    return HTMLResponse(html)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
async def cancel_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    with contextlib.suppress(RunNotActiveError):
        await services.training.cancel(run.id)
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    live = services.training.current_record(run.id) or services.store.get(run.id)
    return HTMLResponse(render.run_panel(await run_view(services, live)))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_detail(run: RunDep, services: ServicesDep) -> HTMLResponse:
    view = await run_view(services, run)
    return HTMLResponse(render.run_history(view, region="run-detail"))
