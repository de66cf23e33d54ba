"""Runs side by side: their histories, the options in which they differ, and the best one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.services.run_view import RunView
from backend.services.runs import RunService
from food_vision.numbers import is_finite_number

MIN_COMPARED, MAX_COMPARED = 2, 8


class ComparisonError(ValueError):
    """The request names too few or too many runs."""


@dataclass(frozen=True)
class Comparison:
    views: tuple[RunView, ...]
    differences: dict[str, list[object]] = field(default_factory=dict)
    best_id: str | None = None


async def compare_runs(runs: RunService, ids: Sequence[str]) -> Comparison:
    """The named runs in the order given; raises ComparisonError or RunNotFoundError."""
    unique = list(dict.fromkeys(ids))
    if not MIN_COMPARED <= len(unique) <= MAX_COMPARED:
        raise ComparisonError(
            f"pick {MIN_COMPARED} to {MAX_COMPARED} different runs to compare ({len(unique)} given)"
        )
    records = [await asyncio.to_thread(runs.store.get, run_id) for run_id in unique]
    views = tuple([await runs.view(runs.live(record)) for record in records])
    return Comparison(views, config_differences(views), best_run(views))


def config_differences(views: Sequence[RunView]) -> dict[str, list[object]]:
    """Each config option whose value is not the same in every run, with the values."""
    keys = sorted({key for view in views for key in view.record.config})
    table = {key: [view.record.config.get(key) for view in views] for key in keys}
    return {key: values for key, values in table.items() if len(set(map(repr, values))) > 1}


def best_run(views: Sequence[RunView]) -> str | None:
    """The run with the highest final test accuracy (the earliest among equals)."""
    scored = [
        (view.record.metrics.get("test_acc"), -index, view.id) for index, view in enumerate(views)
    ]
    finite = [(score, order, run_id) for score, order, run_id in scored if is_finite_number(score)]
    return max(finite)[2] if finite else None
