"""A past run on the page (its detail, deleting it), its evaluation, and runs compared: the
same parts as the FastAPI layer's, from ``backend.web``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, request

from backend.flask_web.context import call, on_run, services
from backend.flask_web.pages import full_page, is_htmx
from backend.services.comparison import compare_runs
from backend.services.exports import NoModelError
from backend.web import render
from backend.web.page_parts import VARY, continue_from_control, delete_run, detail_html
from backend.web.run_api import comparison_body, split_ids
from food_vision.evaluation_data import EvaluationError

run_pages = Blueprint("run_pages", __name__)


@run_pages.get("/runs/<run_id>")
def run_detail(run_id: str) -> tuple[str, int, dict[str, str]]:
    """The run's curves, table, evaluation and export; opened directly, the whole page."""
    html = on_run(run_id, detail_html)
    restoring = request.headers.get("HX-History-Restore-Request") == "true"
    if is_htmx() and not restoring:
        return html, 200, VARY
    return (*full_page(detail_html=html), VARY)


@run_pages.post("/runs/<run_id>/continue")
def continue_from_page(run_id: str) -> Response | tuple[str, int]:
    """Queue a run that trains this one's model for more epochs; the control's answer."""
    epochs = request.form.get("epochs", "")
    child, html = on_run(run_id, lambda found, run: continue_from_control(found, run, epochs))
    if not is_htmx() and child is not None:
        return redirect("/", code=303)  # type: ignore[return-value]
    return html, 200 if is_htmx() or child else 422


@run_pages.post("/runs/<run_id>/delete")
def delete_from_page(run_id: str) -> Response | tuple[str, int, dict[str, str]]:
    html, deleted = on_run(run_id, delete_run)
    if not deleted:
        return html, 200, {}
    if not is_htmx():
        return redirect("/", code=303)  # type: ignore[return-value]
    return html, 200, {"HX-Push-Url": "/"}


@run_pages.get("/api/runs/<run_id>/evaluation")
def evaluation_api(run_id: str) -> Response:
    """Confusion matrix, per-class scores, accuracy, and every test photo's result."""
    return jsonify(on_run(run_id, lambda found, run: found.evaluations.get(run)))


@run_pages.post("/api/runs/<run_id>/evaluate")
def evaluate_api(run_id: str) -> Response:
    return jsonify(on_run(run_id, lambda found, run: found.evaluations.evaluate(run)))


@run_pages.post("/runs/<run_id>/evaluate")
def evaluate_page(run_id: str) -> str:
    try:
        found = on_run(run_id, lambda found, run: found.evaluations.evaluate(run))
    except (EvaluationError, NoModelError) as exc:
        return render.evaluation(run_id, None, error=str(exc))
    return render.evaluation(run_id, found)


@run_pages.get("/runs/<run_id>/evaluation/cell")
def evaluation_cell(run_id: str) -> str:
    true, predicted = request.args.get("true", ""), request.args.get("predicted", "")
    cell = on_run(run_id, lambda found, run: found.evaluations.cell(run, true, predicted))
    return render.render("evaluation_cell", run_id=run_id, cell=cell)


@run_pages.get("/runs/<run_id>/evaluation/photo")
def evaluation_photo(run_id: str) -> Response:
    image = request.args.get("image", "")
    thumbnail = on_run(run_id, lambda found, run: found.evaluations.thumbnail(run, image))
    return Response(thumbnail, mimetype="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@run_pages.get("/api/compare")
def compare_api() -> Response:
    """2 to 8 runs with their epoch history, the options that differ, and the best run."""
    ids = split_ids(request.args.getlist("ids"))
    return jsonify(comparison_body(call(compare_runs(services().runs, ids))))


@run_pages.get("/compare")
def compare_page() -> str:
    ids = split_ids(request.args.getlist("ids"))
    return render.comparison(call(compare_runs(services().runs, ids)))
