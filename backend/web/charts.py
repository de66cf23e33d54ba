"""Loss and accuracy curves as inline SVG, computed on the server: no chart library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from food_vision.events import EpochEnd

WIDTH, HEIGHT = 320, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 26


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    points: tuple[tuple[float, float], ...]

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    series: tuple[Series, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    divider: float | None = None  # a continued run's own epochs start right of it


def line_chart(
    chart_id: str,
    title: str,
    epochs: Sequence[int],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    y_range: tuple[float, float] | None = None,
    percent: bool = False,
    inherited: int = 0,
) -> Chart:
    """Scale ``series`` (label, css class, values per epoch) into the plot area; the first
    ``inherited`` epochs are a parent run's, set apart by a divider."""
    finite = [v for _, _, values in series for v in values if math.isfinite(v)]
    low, high = y_range or (0.0, max(finite, default=1.0) or 1.0)
    tick_step = nice_step((high - low) / 4)
    high = low + tick_step * math.ceil((high - low) / tick_step - 1e-9)
    span_x = max(1, len(epochs) - 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(index: int) -> float:
        return LEFT + plot_w * (index / span_x if len(epochs) > 1 else 0.5)

    def y_at(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, low), high) - low) / ((high - low) or 1.0))

    scaled = tuple(
        Series(
            label,
            css,
            tuple((x_at(i), y_at(v)) for i, v in enumerate(values) if math.isfinite(v)),
        )
        for label, css, values in series
    )
    count = round((high - low) / tick_step)
    y_ticks = tuple(
        Tick(y_at(low + tick_step * k), _label(low + tick_step * k, percent))
        for k in range(count + 1)
    )
    step = max(1, math.ceil(len(epochs) / 8))
    x_ticks = tuple(Tick(x_at(i), str(e)) for i, e in enumerate(epochs) if i % step == 0)
    divider = (x_at(inherited - 1) + x_at(inherited)) / 2 if 0 < inherited < len(epochs) else None
    return Chart(chart_id, title, scaled, y_ticks, x_ticks, divider=divider)


def nice_step(rough: float) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) at or above ``rough``, so that
    the axis reads 0, 0.5, 1.0 and not 0.24, 0.49, 0.73."""
    if rough <= 0 or not math.isfinite(rough):
        return 1.0
    power = 10.0 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough * (1 - 1e-9))


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:.3g}"


def run_charts(
    prefix: str, history: Sequence[EpochEnd], held_out: str | None, inherited: int = 0
) -> tuple[Chart, Chart]:
    """Loss and accuracy per epoch: train, and the held-out split the epochs were measured on
    (``validation``; ``test`` in older runs), when there is one. The first ``inherited``
    epochs are those of the run a continued one started from."""
    epochs = [e.epoch for e in history]
    splits = [("train", "train")] + ([(held_out, "held-out")] if held_out else [])

    def series(metric: str) -> list[tuple[str, str, list[float]]]:
        return [
            (split, css, [getattr(e, f"{split}_{metric}") for e in history])
            for split, css in splits
        ]

    loss = line_chart(f"{prefix}-loss", "Loss", epochs, series("loss"), inherited=inherited)
    accuracy = line_chart(
        f"{prefix}-acc",
        "Accuracy",
        epochs,
        series("acc"),
        y_range=(0.0, 1.0),
        percent=True,
        inherited=inherited,
    )
    return loss, accuracy


def comparison_charts(
    labelled: Sequence[tuple[str, Sequence[EpochEnd], str]],
) -> tuple[Chart, Chart]:
    """Per-epoch loss and accuracy of several runs overlaid, one colour (``run-N``) per run,
    each on the split its epochs were measured on (validation; test in older runs)."""
    longest = max((len(history) for _, history, _ in labelled), default=0)
    epochs = list(range(1, longest + 1))

    def series(metric: str) -> list[tuple[str, str, list[float]]]:
        return [
            (
                f"{label} ({split})",
                f"run-{index}",
                [getattr(e, f"{split}_{metric}") for e in history],
            )
            for index, (label, history, split) in enumerate(labelled)
        ]

    loss = line_chart("compare-loss", "Loss per epoch", epochs, series("loss"))
    accuracy = line_chart(
        "compare-acc", "Accuracy per epoch", epochs, series("acc"), y_range=(0.0, 1.0), percent=True
    )
    return loss, accuracy
