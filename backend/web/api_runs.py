"""JSON API for training runs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from backend.services.runs import RunActiveError
from backend.services.training import RunBusyError, RunNotActiveError
from backend.web.deps import RunDep, ServicesDep
from backend.web.schemas import EpochOut, ErrorOut, RunDetail, RunOut
from food_vision.config import ConfigError, TrainConfig
from food_vision.numbers import finite_or_none
from food_vision.runs import RunStatus

router = APIRouter(prefix="/api/runs", tags=["runs"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut}}


def config_error(exc: ConfigError) -> RequestValidationError:
    """A 422 shaped like FastAPI's own validation errors, naming the body field."""
    return RequestValidationError(
        [{"loc": ("body", exc.field), "msg": exc.message, "type": "value_error", "input": None}]
    )


@router.post("", status_code=201, responses=CONFLICT)
async def create_run(body: TrainConfig, services: ServicesDep) -> RunOut:
    try:
        record = await services.runs.start(body)
    except ConfigError as exc:
        raise config_error(exc) from None
    except RunBusyError as exc:
        return conflict(str(exc), exc.run_id)  # type: ignore[return-value]
    return RunOut.of(record)


@router.get("")
async def list_runs(services: ServicesDep) -> list[RunOut]:
    records = await asyncio.to_thread(services.store.list)
    return [
        RunOut.of(services.runs.live(r), services.training.is_cancelling(r.id)) for r in records
    ]


@router.get("/{run_id}", responses={404: {"model": ErrorOut}})
async def get_run(run: RunDep, services: ServicesDep) -> RunDetail:
    view = await services.runs.view(run)
    history = [EpochOut(**finite_or_none(e.to_dict())) for e in view.epochs]
    return RunDetail(**RunOut.of(run, view.cancelling).model_dump(), history=history)


@router.post("/{run_id}/cancel", status_code=202, responses={404: {"model": ErrorOut}, **CONFLICT})
async def cancel_run(run: RunDep, services: ServicesDep) -> RunOut:
    """Idempotent: cancelling a run that is stopping or already cancelled answers 202 again."""
    try:
        record = await services.training.cancel(run.id)
    except RunNotActiveError as exc:
        if run.status is RunStatus.CANCELLED:
            return RunOut.of(run)
        return conflict(f"{exc} (it is {run.status.value})", run.id)  # type: ignore[return-value]
    return RunOut.of(record, cancelling=True)


@router.delete("/{run_id}", status_code=204, responses={404: {"model": ErrorOut}, **CONFLICT})
async def remove_run(run: RunDep, services: ServicesDep) -> Response:
    try:
        await services.runs.delete(run)
    except RunActiveError as exc:
        return conflict(str(exc), run.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def conflict(message: str, run_id: str) -> JSONResponse:
    return JSONResponse(jsonable_encoder(ErrorOut(detail=message, run_id=run_id)), status_code=409)
