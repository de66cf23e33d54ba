"""A run's evaluation: the JSON, the page's grid, a cell's photos, and evaluating on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from backend.services.exports import NoModelError
from backend.web import render
from backend.web.deps import RunDep, ServicesDep
from backend.web.schemas import ErrorOut
from food_vision.evaluation_data import EvaluationError

router = APIRouter()


@router.get("/api/runs/{run_id}/evaluation", tags=["runs"], responses={404: {"model": ErrorOut}})
async def evaluation_api(run: RunDep, services: ServicesDep) -> dict[str, Any]:
    """Confusion matrix, per-class scores, accuracy, and every test photo's result."""
    return await services.evaluations.get(run)


@router.post(
    "/api/runs/{run_id}/evaluate",
    tags=["runs"],
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def evaluate_api(run: RunDep, services: ServicesDep) -> dict[str, Any]:
    """Evaluate a finished run that has no evaluation yet (seconds); the existing one else."""
    return await services.evaluations.evaluate(run)


@router.post("/runs/{run_id}/evaluate", response_class=HTMLResponse, include_in_schema=False)
async def evaluate_page(run: RunDep, services: ServicesDep) -> HTMLResponse:
    try:
        found = await services.evaluations.evaluate(run)
    except (EvaluationError, NoModelError) as exc:
        return HTMLResponse(render.evaluation(run.id, None, error=str(exc)))
    return HTMLResponse(render.evaluation(run.id, found))


@router.get("/runs/{run_id}/evaluation/cell", response_class=HTMLResponse, include_in_schema=False)
async def evaluation_cell(
    run: RunDep, services: ServicesDep, true: str, predicted: str
) -> HTMLResponse:
    cell = await services.evaluations.cell(run, true, predicted)
    return HTMLResponse(render.render("evaluation_cell", run_id=run.id, cell=cell))


@router.get("/runs/{run_id}/evaluation/photo", include_in_schema=False)
async def evaluation_photo(run: RunDep, services: ServicesDep, image: str) -> Response:
    thumbnail = await services.evaluations.thumbnail(run, image)
    return Response(thumbnail, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})
