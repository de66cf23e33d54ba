"""Sweeps: one base config and lists of values for some fields, queued as one run per
combination under a shared sweep id, then compared side by side."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from backend.services.comparison import MAX_COMPARED
from backend.services.runs import RunService
from food_vision.config import ConfigError, TrainConfig
from food_vision.runs import RunRecord, new_run_id

SWEEP_FIELDS = ("architecture", "learning_rate", "epochs", "dataset", "batch_size", "seed")
MAX_COMBINATIONS = MAX_COMPARED  # a whole sweep opens in one comparison


class SweepNotFoundError(LookupError):
    def __init__(self, sweep_id: str) -> None:
        super().__init__(f"no sweep {sweep_id[:80]!r}")


@dataclass(frozen=True)
class Sweep:
    id: str
    runs: list[RunRecord]

    @property
    def best(self) -> RunRecord | None:
        """The finished run with the highest test accuracy."""
        scored = [run for run in self.runs if "test_acc" in run.metrics]
        return max(scored, key=lambda run: run.metrics["test_acc"], default=None)

    @property
    def compare_link(self) -> str:
        """The page that shows the sweep's runs side by side."""
        return "/compare?" + urlencode([("ids", run.id) for run in self.runs])


def group_sweeps(records: Sequence[RunRecord]) -> list[RunRecord | Sweep]:
    """``records`` (newest first) in their order, each sweep's runs gathered where its newest
    one stands, in the order they were queued (the list of past runs shows a sweep as one
    entry)."""
    entries: list[RunRecord | Sweep] = []
    sweeps: dict[str, Sweep] = {}
    for record in records:
        if record.sweep is None:
            entries.append(record)
        elif record.sweep in sweeps:
            sweeps[record.sweep].runs.insert(0, record)
        else:
            sweeps[record.sweep] = Sweep(record.sweep, [record])
            entries.append(sweeps[record.sweep])
    return entries


def combinations(base: Mapping[str, Any], vary: Mapping[str, Sequence[Any]]) -> list[TrainConfig]:
    """Every config of the sweep, in a stable order; ConfigError names what is wrong."""
    for name, values in vary.items():
        if name not in SWEEP_FIELDS:
            raise ConfigError(f"vary.{name}", f"can be swept: {', '.join(SWEEP_FIELDS)}")
        if not values:
            raise ConfigError(f"vary.{name}", "give at least one value")
    count = math.prod(len(values) for values in vary.values())
    if count > MAX_COMBINATIONS:
        raise ConfigError("vary", f"{count} combinations; a sweep holds at most {MAX_COMBINATIONS}")
    names = list(vary)
    return [
        TrainConfig.parse({**base, **dict(zip(names, chosen, strict=True))})
        for chosen in itertools.product(*(vary[name] for name in names))
    ]


async def start_sweep(
    runs: RunService, base: Mapping[str, Any], vary: Mapping[str, Sequence[Any]]
) -> Sweep:
    """Queue the whole sweep, or nothing (a bad combination, or a queue without room)."""
    sweep_id = new_run_id()
    return Sweep(sweep_id, await runs.start_many(combinations(base, vary), sweep=sweep_id))


async def find_sweep(runs: RunService, sweep_id: str) -> Sweep:
    records = await asyncio.to_thread(runs.store.list)
    members = [runs.live(record) for record in reversed(records) if record.sweep == sweep_id]
    if not members:
        raise SweepNotFoundError(sweep_id)
    return Sweep(sweep_id, members)
