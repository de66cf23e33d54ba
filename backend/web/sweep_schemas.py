"""The sweeps API's bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from backend.services.sweeps import MAX_COMBINATIONS, SWEEP_FIELDS, Sweep
from backend.web.schemas import RunOut


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
