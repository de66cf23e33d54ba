"""The page's dataset actions. Each answers with the datasets region (htmx), or 303 back to
the page without JavaScript; uploads answer with their per-file report."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from backend.web import render
from backend.web.dataset_panel import panel_html
from backend.web.dataset_schemas import DatasetIn
from backend.web.deps import ServicesDep
from backend.web.error_table import HANDLED, status_for
from backend.web.pages import is_htmx
from backend.web.uploads import request_body
from food_vision.datasets.intake import ImportReport
from food_vision.datasets.manifest import MAX_TEST_FRACTION, MIN_TEST_FRACTION

router = APIRouter(prefix="/datasets", include_in_schema=False)
SHARE_ERROR = (
    f"The test share is a whole number from {MIN_TEST_FRACTION:.0%} to {MAX_TEST_FRACTION:.0%}."
)


def page_url(name: str | None) -> str:
    return f"/?dataset={quote(name)}#datasets" if name else "/#datasets"


async def answer(
    request: Request, services: ServicesDep, name: str | None, action: Awaitable[Any], notice: str
) -> Response:
    """Run ``action``, then show the region (with the reason, if it was refused)."""
    error = None
    try:
        await action
    except HANDLED as exc:
        error, notice = str(exc), ""
    if not is_htmx(request):
        return RedirectResponse(page_url(name), status_code=303)
    return HTMLResponse(await panel_html(services, name, error=error, notice=notice))


async def report(request: Request, upload: Awaitable[ImportReport]) -> HTMLResponse:
    """The per-file report; a refusal keeps its status, so the page knows not to retry."""
    template = "partials/import_report.html" if is_htmx(request) else "dataset_report.html"
    page = render.templates.get_template(template)
    try:
        done = await upload
    except HANDLED as exc:
        return HTMLResponse(page.render(report=None, error=str(exc)), status_for(exc))
    return HTMLResponse(page.render(report=done, error=None))


@router.get("/{name}", response_class=HTMLResponse)
async def open_dataset(name: str, services: ServicesDep) -> HTMLResponse:
    return HTMLResponse(await panel_html(services, name))


@router.post("", response_class=HTMLResponse)
async def create_dataset(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    name, share = str(form.get("name", "")).strip(), str(form.get("test_percent", "")).strip()
    try:
        fraction = float(share) / 100 if share else None
        body = DatasetIn(name=name, test_fraction=fraction)
    except (ValueError, ValidationError) as exc:
        error = _first_error(exc) if isinstance(exc, ValidationError) else SHARE_ERROR
        return HTMLResponse(await panel_html(services, None, error=error))
    notice = f"Dataset {name} is ready for photos: add a class, then drop its photos on it."
    action = services.library.create(body.name, body.test_fraction)
    return await answer(request, services, name, action, notice)


@router.post("/{name}/classes", response_class=HTMLResponse)
async def add_class(name: str, request: Request, services: ServicesDep) -> Response:
    label = str((await request.form()).get("label", ""))
    notice = f"Class {label.strip()} added: drop its photos on it."
    return await answer(request, services, name, services.library.add_class(name, label), notice)


@router.post("/{name}/classes/{label}/remove", response_class=HTMLResponse)
async def remove_class(name: str, label: str, request: Request, services: ServicesDep) -> Response:
    action = services.library.remove_class(name, label)
    return await answer(request, services, name, action, f"Class {label} removed.")


@router.post("/{name}/photos/{image_id}/remove", response_class=HTMLResponse)
async def remove_photo(
    name: str, image_id: str, request: Request, services: ServicesDep
) -> Response:
    action = services.library.remove_photo(name, image_id)
    return await answer(request, services, name, action, "Photo removed.")


@router.post("/{name}/remove", response_class=HTMLResponse)
async def delete_dataset(name: str, request: Request, services: ServicesDep) -> Response:
    action = services.library.delete(name)
    return await answer(request, services, None, action, f"Dataset {name} deleted.")


@router.post("/{name}/photos", response_class=HTMLResponse)
async def upload_photos(name: str, request: Request, services: ServicesDep) -> HTMLResponse:
    return await report(request, services.library.upload_photos(name, request_body(request)))


@router.post("/{name}/archive", response_class=HTMLResponse)
async def upload_archive(name: str, request: Request, services: ServicesDep) -> HTMLResponse:
    return await report(request, services.library.upload_archive(name, request_body(request)))


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if error["loc"] and error["loc"][0] == "test_fraction":
        return SHARE_ERROR
    reason = error.get("ctx", {}).get("error")
    return str(reason) if reason else f"The dataset name {error['msg'].lower()}."
