"""Runs side by side: the JSON comparison and the page's comparison view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.services.comparison import compare_runs
from backend.web import render
from backend.web.deps import ServicesDep
from backend.web.run_api import comparison_body, split_ids
from backend.web.schemas import ErrorOut

router = APIRouter()
IdsQuery = Annotated[list[str], Query(description="run ids, comma-separated or repeated")]


@router.get(
    "/api/compare",
    tags=["runs"],
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def compare_api(ids: IdsQuery, services: ServicesDep) -> dict[str, Any]:
    """2 to 8 runs with their epoch history, the options that differ, and the best run."""
    comparison = await compare_runs(services.runs, split_ids(ids))
    return comparison_body(comparison)


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
async def compare_page(ids: IdsQuery, services: ServicesDep) -> HTMLResponse:
    comparison = await compare_runs(services.runs, split_ids(ids))
    return HTMLResponse(render.comparison(comparison))
