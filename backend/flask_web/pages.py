"""The page and its htmx actions, from the same templates and parts as the FastAPI layer's.
Forms work without JavaScript too (303 back to the page)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request

from backend.flask_web.context import call, on_run, services
from backend.web import render
from backend.web.page_parts import end_from_page, run_panel_now, submitted_form, whole_page_context

pages = Blueprint("pages", __name__)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def full_page(status: int = 200, **context: Any) -> tuple[str, int]:
    """The whole page; ``context`` overrides its parts (the submitted form and its errors)."""
    parts = call(whole_page_context(services(), request.args.get("dataset")))
    return render.templates.get_template("index.html").render({**parts, **context}), status


def back_to_page() -> Response:
    return redirect("/", code=303)  # type: ignore[return-value]


@pages.get("/")
def index() -> tuple[str, int]:
    return full_page()


@pages.post("/runs")
def submit_run() -> Response | tuple[str, int]:
    records, html, submitted = call(submitted_form(services(), request.form))
    if is_htmx():
        return html, 200
    return back_to_page() if records else full_page(422, **submitted)


@pages.post("/runs/<run_id>/cancel")
def cancel_from_page(run_id: str) -> Response | tuple[str, int]:
    on_run(run_id, lambda found, run: end_from_page(found, run, keep=False))
    return panel_after_action(run_id)


@pages.post("/runs/<run_id>/stop")
def stop_from_page(run_id: str) -> Response | tuple[str, int]:
    on_run(run_id, lambda found, run: end_from_page(found, run, keep=True))
    return panel_after_action(run_id)


def panel_after_action(run_id: str) -> Response | tuple[str, int]:
    """The run panel as the action left it; without JavaScript, back to the page."""
    if not is_htmx():
        return back_to_page()
    return call(run_panel_now(services(), run_id)), 200
