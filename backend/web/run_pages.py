"""A past run on the page: its detail at its own address, training it further, and deleting
it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.web.deps import RunDep, ServicesDep
from backend.web.page_parts import VARY, continue_from_control, delete_run, detail_html
from backend.web.pages import full_page, is_htmx

router = APIRouter(include_in_schema=False)


def wants_fragment(request: Request) -> bool:
    """An htmx swap, not the whole page that Back (history restore) or a new tab needs."""
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


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
    child, html = await continue_from_control(services, run, epochs)
    if not is_htmx(request) and child is not None:
        return RedirectResponse("/", status_code=303)
    return HTMLResponse(html, status_code=200 if is_htmx(request) or child else 422)


@router.post("/runs/{run_id}/delete", response_class=HTMLResponse)
async def delete_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    """Delete the run and its files; every open page's lists follow over their socket."""
    html, deleted = await delete_run(services, run)
    if not deleted:
        return HTMLResponse(html)
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    return HTMLResponse(html, headers={"HX-Push-Url": "/"})
