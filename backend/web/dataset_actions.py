"""The page's dataset actions as both web layers answer them: what each does, the words that
answer it, and the region (or the per-file report) shown afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from backend.services.container import Services
from backend.web import render
from backend.web.dataset_panel import panel_html
from backend.web.dataset_schemas import DatasetIn
from backend.web.error_table import HANDLED, status_for
from food_vision.datasets.intake import ImportReport
from food_vision.datasets.manifest import MAX_TEST_FRACTION, MIN_TEST_FRACTION

THUMBNAIL_CACHE = "private, max-age=86400, immutable"  # a photo's id is its content hash
SHARE_ERROR = (
    f"The test share is a whole number from {MIN_TEST_FRACTION:.0%} to {MAX_TEST_FRACTION:.0%}."
)


@dataclass
class Action:
    """A change to the datasets, the dataset the page shows after it, and what it says."""

    shown: str | None
    change: Awaitable[Any]
    notice: str


def page_url(name: str | None) -> str:
    return f"/?dataset={quote(name)}#datasets" if name else "/#datasets"


async def panel_after(services: Services, action: Action) -> str:
    """Make the change, then the region (with the reason, if it was refused)."""
    error, notice = None, action.notice
    try:
        await action.change
    except HANDLED as exc:
        error, notice = str(exc), ""
    return await panel_html(services, action.shown, error=error, notice=notice)


async def report_page(upload: Awaitable[ImportReport], htmx: bool) -> tuple[str, int]:
    """The per-file report; a refusal keeps its status, so the page knows not to retry."""
    template = "partials/import_report.html" if htmx else "dataset_report.html"
    page = render.templates.get_template(template)
    try:
        done = await upload
    except HANDLED as exc:
        return page.render(report=None, error=str(exc)), status_for(exc)
    return page.render(report=done, error=None), 200


def create(services: Services, form: Mapping[str, Any]) -> Action | str:
    """The new dataset from the form's name and test share, or why the form is wrong."""
    name, share = str(form.get("name", "")).strip(), str(form.get("test_percent", "")).strip()
    try:
        fraction = float(share) / 100 if share else None
        body = DatasetIn(name=name, test_fraction=fraction)
    except (ValueError, ValidationError) as exc:
        return _first_error(exc) if isinstance(exc, ValidationError) else SHARE_ERROR
    notice = f"Dataset {name} is ready for photos: add a class, then drop its photos on it."
    return Action(name, services.library.create(body.name, body.test_fraction), notice)


def add_class(services: Services, name: str, form: Mapping[str, Any]) -> Action:
    label = str(form.get("label", ""))
    notice = f"Class {label.strip()} added: drop its photos on it."
    return Action(name, services.library.add_class(name, label), notice)


def remove_class(services: Services, name: str, label: str) -> Action:
    return Action(name, services.library.remove_class(name, label), f"Class {label} removed.")


def remove_photo(services: Services, name: str, image_id: str) -> Action:
    return Action(name, services.library.remove_photo(name, image_id), "Photo removed.")


def delete(services: Services, name: str) -> Action:
    return Action(None, services.library.delete(name), f"Dataset {name} deleted.")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if error["loc"] and error["loc"][0] == "test_fraction":
        return SHARE_ERROR
    reason = error.get("ctx", {}).get("error")
    return str(reason) if reason else f"The dataset name {error['msg'].lower()}."
