"""The page's dataset actions. Each answers with the datasets region (htmx), or 303 back to
the page without JavaScript; uploads answer with their per-file report."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.web import dataset_actions
from backend.web.dataset_actions import Action, page_url, panel_after, report_page
from backend.web.dataset_panel import panel_html
from backend.web.deps import ServicesDep
from backend.web.pages import is_htmx
from backend.web.uploads import request_body

router = APIRouter(prefix="/datasets", include_in_schema=False)


async def answer(request: Request, services: ServicesDep, action: Action) -> Response:
    """Make the change; the region after it, or back to the page without JavaScript."""
    html = await panel_after(services, action)
    if not is_htmx(request):
        return RedirectResponse(page_url(action.shown), status_code=303)
    return HTMLResponse(html)


@router.get("/{name}", response_class=HTMLResponse)
async def open_dataset(name: str, services: ServicesDep) -> HTMLResponse:
    return HTMLResponse(await panel_html(services, name))


@router.post("", response_class=HTMLResponse)
async def create_dataset(request: Request, services: ServicesDep) -> Response:
    action = dataset_actions.create(services, await request.form())
    if isinstance(action, str):
        return HTMLResponse(await panel_html(services, None, error=action))
    return await answer(request, services, action)


@router.post("/{name}/classes", response_class=HTMLResponse)
async def add_class(name: str, request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    return await answer(request, services, dataset_actions.add_class(services, name, form))


@router.post("/{name}/classes/{label}/remove", response_class=HTMLResponse)
async def remove_class(name: str, label: str, request: Request, services: ServicesDep) -> Response:
    return await answer(request, services, dataset_actions.remove_class(services, name, label))


@router.post("/{name}/photos/{image_id}/remove", response_class=HTMLResponse)
async def remove_photo(
    name: str, image_id: str, request: Request, services: ServicesDep
) -> Response:
    action = dataset_actions.remove_photo(services, name, image_id)
    return await answer(request, services, action)


@router.post("/{name}/remove", response_class=HTMLResponse)
async def delete_dataset(name: str, request: Request, services: ServicesDep) -> Response:
    return await answer(request, services, dataset_actions.delete(services, name))


@router.post("/{name}/photos", response_class=HTMLResponse)
async def upload_photos(name: str, request: Request, services: ServicesDep) -> HTMLResponse:
    upload = services.library.upload_photos(name, request_body(request))
    return HTMLResponse(*await report_page(upload, is_htmx(request)))


@router.post("/{name}/archive", response_class=HTMLResponse)
async def upload_archive(name: str, request: Request, services: ServicesDep) -> HTMLResponse:
    upload = services.library.upload_archive(name, request_body(request))
    return HTMLResponse(*await report_page(upload, is_htmx(request)))
