"""The page and its htmx actions. Forms work without JavaScript too (303 back to the page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.services.container import Services
from backend.web import render
from backend.web.deps import RunDep, ServicesDep
from backend.web.page_parts import end_from_page, run_panel_now, submitted_form, whole_page_context
from food_vision.runs import RunRecord

router = APIRouter(include_in_schema=False)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def full_page(
    request: Request, services: Services, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The whole page; ``context`` fills or overrides its parts (form values, an open run)."""
    parts = await whole_page_context(services, request.query_params.get("dataset"))
    return render.templates.TemplateResponse(
        request, "index.html", {**parts, **context}, status_code
    )


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, services: ServicesDep) -> HTMLResponse:
    return await full_page(request, services)


@router.post("/runs", response_class=HTMLResponse)
async def submit_run(request: Request, services: ServicesDep) -> Response:
    records, html, submitted = await submitted_form(services, await request.form())
    if is_htmx(request):
        return HTMLResponse(html)
    if records:
        return RedirectResponse("/", status_code=303)
    return await full_page(request, services, 422, **submitted)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
async def cancel_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    await end_from_page(services, run, keep=False)
    return await panel_after_action(request, run, services)


@router.post("/runs/{run_id}/stop", response_class=HTMLResponse)
async def stop_from_page(request: Request, run: RunDep, services: ServicesDep) -> Response:
    await end_from_page(services, run, keep=True)
    return await panel_after_action(request, run, services)


async def panel_after_action(request: Request, run: RunRecord, services: Services) -> Response:
    """The run panel as the action left it; without JavaScript, back to the page."""
    if not is_htmx(request):
        return RedirectResponse("/", status_code=303)
    return HTMLResponse(await run_panel_now(services, run.id))
