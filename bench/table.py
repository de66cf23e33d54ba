"""The benchmarks' result rows and the one table they print: metric | ours | baseline | ratio."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: ``ratio`` is ours / baseline unless the metric's name says otherwise."""

    metric: str
    ours: str
    baseline: str
    ratio: str

    @classmethod
    def of(
        cls,
        metric: str,
        ours: float,
        baseline: float,
        unit: str,
        note: str = "",
        *,
        invert: bool = False,
    ) -> Row:
        ratio = (baseline / ours if invert else ours / baseline) if ours and baseline else math.nan
        base = f"{fmt(baseline)} {unit}" + (f" ({note})" if note else "")
        return cls(metric, f"{fmt(ours)} {unit}", base, f"{ratio:.3g}x")

    @classmethod
    def skipped(cls, metric: str, why: str) -> Row:
        return cls(metric, f"skipped: {why}", "-", "-")


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def print_table(rows: Sequence[Row], title: str | None = None) -> None:
    header = ("metric", "ours", "baseline", "ratio")
    cells = [header, *((r.metric, r.ours, r.baseline, r.ratio) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    line = "-+-".join("-" * w for w in widths)
    if title:
        print(f"\n{title}")
    for index, row in enumerate(cells):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(line)
    sys.stdout.flush()
