"""Timing figures: percentiles, latencies of sequential requests and calls, one timed call."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import httpx


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def call_latencies(call: Callable[[], object], count: int) -> list[float]:
    """ms of each of ``count`` calls, one after the other."""
    return [timed(call)[0] * 1000 for _ in range(count)]


def sequential_latencies(
    client: httpx.Client, urls: Sequence[str], count: int
) -> dict[str, list[float]]:
    """``count`` GETs of each URL, interleaved; per-URL latencies in ms (non-200 raises)."""
    latencies: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(count):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            latencies[url].append(elapsed)
    return latencies


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """Seconds ``action`` took, and what it returned."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result
