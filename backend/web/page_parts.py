"""The page's parts as both web layers render them: the whole page's context, and a run
started from the train form with the words that answer it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from backend.services.container import Services
from backend.services.run_queue import QueueFullError, QueueUnavailableError
from backend.services.runs import RunActiveError
from backend.services.samples import list_samples
from backend.services.sweeps import start_sweep
from backend.services.training import RunNotActiveError
from backend.web import render
from backend.web.dataset_panel import panel_html
from backend.web.train_form import (
    default_values,
    parse_sweep_choices,
    parse_train_form,
    submitted_values,
)
from food_vision.config import ConfigError, TrainConfig
from food_vision.lineage import ParentUnusableError
from food_vision.runs import RunRecord

# The same address answers a fragment to htmx and the whole page to a browser: caches must
# tell them apart.
VARY = {"Vary": "HX-Request"}


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


async def whole_page_context(services: Services, dataset: str | None) -> dict[str, Any]:
    """The page with an empty train form; callers override parts (form values, errors)."""
    parts = await page_context(services, dataset)
    parts.update(values=default_values(), errors={}, detail_html="")
    return parts


async def submitted_form(
    services: Services, form: Any
) -> tuple[list[RunRecord], str, dict[str, Any]]:
    """Start a run (or a sweep) from the train form: the queued runs (none when refused),
    the form's partial as htmx swaps it in, and the submitted values with their errors for a
    full page."""
    values = submitted_values(form)
    records, errors = await start_from_form(services, form)
    html = render.render(
        "train_form",
        values=values,
        errors=errors,
        message=await submitted_message(services, records) if records else None,
        started_run=records[0].id if records else None,
        datasets=await services.datasets.list(),
        busy=bool(records) or services.training.active is not None,
    )
    return records, html, {"values": values, "errors": errors}


async def continue_from_control(
    services: Services, run: RunRecord, epochs: object
) -> tuple[RunRecord | None, str]:
    """Queue a run that trains ``run``'s model for ``epochs`` more: the child (None when
    refused) and the control's partial, with its note or the reason it was refused."""
    child, error = await _start_child(services, run, epochs)
    note = await submitted_message(services, [child]) if child is not None else None
    control = render.continue_control(
        run.id, note=note, error=error, child=child.id if child else None, epochs=epochs
    )
    return child, render.render("continue_run", **control)


async def _start_child(
    services: Services, run: RunRecord, epochs: object
) -> tuple[RunRecord | None, str | None]:
    try:
        config = TrainConfig.parse({"parent": run.id, "epochs": str(epochs).strip()})
        return await services.runs.start(config), None
    except ConfigError as exc:
        field = TrainConfig.model_fields.get(exc.field)
        return None, f"{field.title if field else exc.field}: {exc.message}"
    except (ParentUnusableError, QueueFullError, QueueUnavailableError) as exc:
        return None, str(exc).capitalize() + "."


async def end_from_page(services: Services, run: RunRecord, *, keep: bool) -> None:
    """Stop and keep (``keep``) or cancel; a run already ending is left to end."""
    with contextlib.suppress(RunNotActiveError):
        await (services.runs.stop(run) if keep else services.runs.cancel(run))


async def run_panel_now(services: Services, run_id: str) -> str:
    """The run panel as an action left it."""
    live = services.runs.live(await asyncio.to_thread(services.store.get, run_id))
    return render.run_panel(await services.runs.view(live))


async def detail_html(services: Services, run: RunRecord) -> str:
    view = await services.runs.view(run)
    found = await services.evaluations.find(run)
    evaluation = render.evaluation(
        run.id, found, can_evaluate=run.has_model and not run.status.is_active
    )
    return render.run_history(
        view,
        region="run-detail",
        export_check=await services.exports.verification(run),
        evaluation_html=evaluation,
    )


async def delete_run(services: Services, run: RunRecord) -> tuple[str, bool]:
    """Delete the run and its files: what the page shows, and whether it was deleted (an
    active run is not: it says so)."""
    try:
        await services.runs.delete(run)
    except RunActiveError:
        error = "This run is still active: cancel it first, then delete it."
        return render.render("run_deleted", run_id=run.id, error=error), False
    return render.render("run_deleted", run_id=run.id, error=None), True
