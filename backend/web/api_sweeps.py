"""JSON API for sweeps: one run per combination of values, queued together."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.services.sweeps import MAX_COMBINATIONS, SWEEP_FIELDS, Sweep, find_sweep, start_sweep
from backend.web.deps import ServicesDep
from backend.web.schemas import ErrorOut, RunOut

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])


class SweepIn(BaseModel):
    base: dict[str, Any] = Field(
        default_factory=dict, description="the config every run shares (a POST /api/runs body)"
    )
    vary: dict[str, list[Any]] = Field(
        description=f"values to try per field ({', '.join(SWEEP_FIELDS)}); "
        f"at most {MAX_COMBINATIONS} combinations"
    )


class SweepOut(BaseModel):
    id: str
    runs: list[RunOut]
    best: str | None = Field(description="the finished run with the highest test accuracy")
    compare: str = Field(description="the page that compares the sweep's runs side by side")

    @classmethod
    def of(cls, sweep: Sweep) -> SweepOut:
        best = sweep.best
        return cls(
            id=sweep.id,
            runs=[RunOut.of(run) for run in sweep.runs],
            best=best.id if best else None,
            compare=sweep.compare_link,
        )


@router.post("", status_code=201, responses={409: {"model": ErrorOut}})
async def create_sweep(body: SweepIn, services: ServicesDep) -> SweepOut:
    """Queue one run per combination (201); 422 naming a wrong field or past the cap on
    combinations; 409 when the queue has no room for all of them (then none is queued)."""
    return SweepOut.of(await start_sweep(services.runs, body.base, body.vary))


@router.get("/{sweep_id}", responses={404: {"model": ErrorOut}})
async def get_sweep(sweep_id: str, services: ServicesDep) -> SweepOut:
    """The sweep's runs in the order they were queued, its best run and its comparison."""
    return SweepOut.of(await find_sweep(services.runs, sweep_id))
