"""The page's dataset actions, as ``backend.web.dataset_actions`` makes them: the datasets
region for htmx, or 303 back to the page; uploads answer with their per-file report."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from backend.flask_web.bodies import request_body
from backend.flask_web.context import call, services
from backend.flask_web.pages import is_htmx
from backend.web import dataset_actions
from backend.web.dataset_actions import Action, page_url, panel_after, report_page
from backend.web.dataset_panel import panel_html

dataset_pages = Blueprint("dataset_pages", __name__, url_prefix="/datasets")
Answer = Response | tuple[str, int]


def answer(action: Action) -> Answer:
    """Make the change; the region after it, or back to the page without JavaScript."""
    html = call(panel_after(services(), action))
    if not is_htmx():
        return redirect(page_url(action.shown), code=303)  # type: ignore[return-value]
    return html, 200


@dataset_pages.get("/<name>")
def open_dataset(name: str) -> Answer:
    return call(panel_html(services(), name)), 200


@dataset_pages.post("")
def create_dataset() -> Answer:
    action = dataset_actions.create(services(), request.form)
    if isinstance(action, str):
        return call(panel_html(services(), None, error=action)), 200
    return answer(action)


@dataset_pages.post("/<name>/classes")
def add_class(name: str) -> Answer:
    return answer(dataset_actions.add_class(services(), name, request.form))


@dataset_pages.post("/<name>/classes/<label>/remove")
def remove_class(name: str, label: str) -> Answer:
    return answer(dataset_actions.remove_class(services(), name, label))


@dataset_pages.post("/<name>/photos/<image_id>/remove")
def remove_photo(name: str, image_id: str) -> Answer:
    return answer(dataset_actions.remove_photo(services(), name, image_id))


@dataset_pages.post("/<name>/remove")
def delete_dataset(name: str) -> Answer:
    return answer(dataset_actions.delete(services(), name))


@dataset_pages.post("/<name>/photos")
def upload_photos(name: str) -> Answer:
    return call(report_page(services().library.upload_photos(name, request_body()), is_htmx()))


@dataset_pages.post("/<name>/archive")
def upload_archive(name: str) -> Answer:
    return call(report_page(services().library.upload_archive(name, request_body()), is_htmx()))
