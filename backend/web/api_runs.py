"""JSON API for training runs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response, status
from fastapi.responses import FileResponse

from backend.web import run_api
from backend.web.deps import RunDep, ServicesDep
from backend.web.schemas import ErrorOut, RunDetail, RunOut
from food_vision.config import TrainConfig

router = APIRouter(prefix="/api/runs", tags=["runs"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut}}


@router.post("", status_code=201, responses=CONFLICT)
async def create_run(body: TrainConfig, services: ServicesDep) -> RunOut:
    """Queue a run (201, ``queued`` with its ``position``, or already ``running``); 409 when
    the queue is full; 422 naming a wrong field; 503 while the queue's database is down."""
    return await run_api.start_run(services, body)


@router.get("")
async def list_runs(services: ServicesDep) -> list[RunOut]:
    return await run_api.list_runs(services)


@router.get("/{run_id}", responses={404: {"model": ErrorOut}})
async def get_run(run: RunDep, services: ServicesDep) -> RunDetail:
    return await run_api.run_detail(services, run)


@router.post("/{run_id}/cancel", status_code=202, responses={404: {"model": ErrorOut}, **CONFLICT})
async def cancel_run(run: RunDep, services: ServicesDep) -> RunOut:
    """Idempotent: cancelling a run that is stopping or already cancelled answers 202 again."""
    return await run_api.cancel_run(services, run)


@router.post("/{run_id}/stop", status_code=202, responses={404: {"model": ErrorOut}, **CONFLICT})
async def stop_run(run: RunDep, services: ServicesDep) -> RunOut:
    """Stop and keep: the run ends after the epoch under way, is tested and saved, and
    completes with ``stopped_early``. 409 unless it is running; idempotent while it stops."""
    return await run_api.stop_run(services, run)


@router.get(
    "/{run_id}/export",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the verified export zip"},
        404: {"model": ErrorOut},
        **CONFLICT,
        422: {"model": ErrorOut, "description": "unknown format, or the export did not verify"},
    },
)
async def export_run(
    run: RunDep, services: ServicesDep, format: Literal["onnx"] = "onnx"
) -> FileResponse:
    """The model as ONNX with labels, preprocessing, a ``predict.py`` and its verification;
    built (seconds) on first request, then served from the run's cache."""
    path = await services.exports.onnx(run)
    return FileResponse(path, media_type="application/zip", filename=f"{run.id}-{format}.zip")


@router.delete("/{run_id}", status_code=204, responses={404: {"model": ErrorOut}, **CONFLICT})
async def remove_run(run: RunDep, services: ServicesDep) -> Response:
    await services.runs.delete(run)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
