"""A past run on the page: its detail at its own address, training it further, and deleting
it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.services.container import Services
from backend.services.run_queue import QueueFullError, QueueUnavailableError
from backend.services.runs import RunActiveError
from backend.web import render
from backend.web.deps import RunDep, ServicesDep
from backend.web.pages import full_page, is_htmx, submitted_message
from food_vision.config import ConfigError, TrainConfig
from food_vision.lineage import ParentUnusableError
from food_vision.runs import RunRecord

FIELDS = TrainConfig.model_fields

router = APIRouter(include_in_schema=False)
# The same address answers a fragment to htmx and the whole page to a browser: caches must
# tell them apart.
VARY = {"Vary": "HX-Request"}


def wants_fragment(request: Request) -> bool:
    """An htmx swap, not the whole page that Back (history restore) or a new tab needs."""
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


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


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_detail(request: Request, run: RunDep, services: ServicesDep) -> HTMLResponse:
    """The run's curves, table, evaluation and export; opened directly, the whole page with
    them in place."""
    html = await detail_html(services, run)
    if wants_fragment(request):
        return HTMLResponse(html, headers=VARY)
    page = await full_page(request, services, detail_html=html)
    page.headers.update(VARY)
    return page


@router.post("/runs/{run_id}/continue", response_class=HTMLResponse)
async def continue_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    """Queue a run that trains this one's model for more epochs; its note, or why it was
    refused, in place of the control. The new run shows in the live panel like any."""
    epochs = (await request.form()).get("epochs", "")
    child, error = await start_child(services, run, epochs)
    if not is_htmx(request) and child is not None:
        return RedirectResponse("/", status_code=303)
    note = await submitted_message(services, [child]) if child is not None else None
    control = render.continue_control(
        run.id, note=note, error=error, child=child.id if child else None, epochs=epochs
    )
    html = render.render("continue_run", **control)
    return HTMLResponse(html, status_code=200 if is_htmx(request) or child else 422)


async def start_child(
    services: Services, run: RunRecord, epochs: object
) -> tuple[RunRecord | None, str | None]:
    """The queued child run, or the message that refused it."""
    try:
        config = TrainConfig.parse({"parent": run.id, "epochs": str(epochs).strip()})
        return await services.runs.start(config), None
    except ConfigError as exc:
        label = TrainConfig.model_fields[exc.field].title if exc.field in FIELDS else exc.field
        return None, f"{label}: {exc.message}"
    except (ParentUnusableError, QueueFullError, QueueUnavailableError) as exc:
        return None, str(exc).capitalize() + "."


@router.post("/runs/{run_id}/delete", response_class=HTMLResponse)
async def delete_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    """Delete the run and its files; every open page's lists follow over their socket."""
    try:
        await services.runs.delete(run)
    except RunActiveError:
        error = "This run is still active: cancel it first, then delete it."
        return HTMLResponse(render.render("run_deleted", run_id=run.id, error=error))
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    html = render.render("run_deleted", run_id=run.id, error=None)
    return HTMLResponse(html, headers={"HX-Push-Url": "/"})
