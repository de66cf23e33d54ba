"""How busy the machine's cores were during a block, every process counted: where a figure
meets the machine's own wall (all cores busy), no change to one process can raise it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

GUEST_TIME = ("guest", "guest_nice")  # already counted in user and nice on Linux


@dataclass
class CoresBusy:
    """Cores' worth of busy time per second of the block (0 to ``cores``)."""

    cores: int
    busy: float = math.nan


def _busy_and_total() -> tuple[float, float]:
    times = psutil.cpu_times()._asdict()
    total = sum(value for name, value in times.items() if name not in GUEST_TIME)
    return total - times["idle"] - times.get("iowait", 0.0), total


@contextmanager
def cores_busy() -> Iterator[CoresBusy]:
    """The machine's busy cores during the block, in the yielded value once it ends."""
    result = CoresBusy(psutil.cpu_count() or 1)
    busy_before, total_before = _busy_and_total()
    yield result
    busy_after, total_after = _busy_and_total()
    if total_after > total_before:
        result.busy = result.cores * (busy_after - busy_before) / (total_after - total_before)
