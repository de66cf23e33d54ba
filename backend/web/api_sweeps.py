"""JSON API for sweeps: one run per combination of values, queued together."""

from __future__ import annotations

from fastapi import APIRouter

from backend.services.sweeps import find_sweep, start_sweep
from backend.web.deps import ServicesDep
from backend.web.schemas import ErrorOut
from backend.web.sweep_schemas import SweepIn, SweepOut

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])


@router.post("", status_code=201, responses={409: {"model": ErrorOut}})
async def create_sweep(body: SweepIn, services: ServicesDep) -> SweepOut:
    """Queue one run per combination (201); 422 naming a wrong field or past the cap on
    combinations; 409 when the queue has no room for all of them (then none is queued)."""
    return SweepOut.of(await start_sweep(services.runs, body.base, body.vary))


@router.get("/{sweep_id}", responses={404: {"model": ErrorOut}})
async def get_sweep(sweep_id: str, services: ServicesDep) -> SweepOut:
    """The sweep's runs in the order they were queued, its best run and its comparison."""
    return SweepOut.of(await find_sweep(services.runs, sweep_id))
