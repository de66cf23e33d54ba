"""Templates and the HTML fragments pushed to the page over its WebSocket.

Every swappable region has one partial template with a stable root id; the page includes the
same partials that the socket pushes, so a snapshot and a live update render alike.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from backend.services.comparison import Comparison
from backend.services.datasets import DatasetInfo
from backend.services.run_view import RunView
from backend.services.runs import Model, best_model
from backend.services.samples import Sample
from backend.services.sweeps import group_sweeps
from backend.web import choices
from backend.web.charts import comparison_charts, run_charts
from backend.web.public_text import public_text
from backend.web.train_form import offered_fields
from food_vision.config import TrainConfig, bounds
from food_vision.evaluation import most_confused
from food_vision.events import EpochEnd, Event, Started
from food_vision.launch import machine_processes
from food_vision.models import ARCHITECTURES
from food_vision.numbers import is_finite_number
from food_vision.runs import RunRecord
from frontend import vendor
from frontend.vendor import FRONTEND

templates = Jinja2Templates(directory=str(FRONTEND / "templates"))
MISSING = "\u2013"


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _percent(value: object) -> str:
    return f"{value * 100:.1f}%" if is_finite_number(value) else MISSING


def _number(value: object, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if is_finite_number(value) else MISSING


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return MISSING
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


templates.env.filters.update(
    duration=_duration, percent=_percent, number=_number, when=_when, public_text=public_text
)
templates.env.globals.update(
    architectures=ARCHITECTURES,
    form_fields=offered_fields(machine_processes()),
    scripts=vendor.page_scripts,
    dataset_label=choices.dataset_label,
    downloads_note=choices.downloads_note,
    architecture_label=choices.architecture_label,
    model_name=choices.model_name,
    run_facts=choices.run_facts,
)


def render(name: str, **context: Any) -> str:
    return templates.get_template(f"partials/{name}.html").render(**context)


def run_panel(view: RunView | None, *, oob: bool = False) -> str:
    return render("run_panel", view=view, oob=oob)


def run_history(
    view: RunView | None,
    *,
    oob: bool = False,
    region: str = "run-history",
    export_check: dict[str, Any] | None = None,
    evaluation_html: str = "",
) -> str:
    """The epoch table and curves; as the run detail, also the export and the evaluation."""
    charts = None
    if view is not None and view.history:
        charts = run_charts(region, view.history, view.held_out, len(view.inherited))
    return render(
        "run_history",
        view=view,
        charts=charts,
        oob=oob,
        region=region,
        export_check=export_check,
        evaluation_html=Markup(evaluation_html),
        **continue_control(view.id if view else "", note=None, error=None, child=None),
    )


def continue_control(
    run_id: str, *, note: str | None, error: str | None, child: str | None, epochs: object = 2
) -> dict[str, Any]:
    """What the "Train more epochs" control of a finished run shows."""
    limits = bounds(TrainConfig.model_fields["epochs"])
    return {
        "run_id": run_id,
        "note": note,
        "error": error,
        "child": child,
        "epochs": epochs,
        "epoch_limits": limits,
    }


def evaluation(
    run_id: str,
    found: dict[str, Any] | None,
    *,
    can_evaluate: bool = False,
    error: str | None = None,
) -> str:
    """The confusion grid (cells open their photos), per-class scores and the most confused
    pairs; or why there is none yet, with a button that makes one."""
    heat = heat_levels(found["confusion"]) if found else []
    confused = most_confused(found) if found else []
    return render(
        "evaluation",
        run_id=run_id,
        evaluation=found,
        heat=heat,
        confused=confused,
        can_evaluate=can_evaluate,
        error=error,
    )


def heat_levels(confusion: list[list[int]]) -> list[list[int]]:
    """Each cell's share of its row in six steps (0-5), for the heat map's colour classes."""
    return [[round(5 * count / (sum(row) or 1)) for count in row] for row in confusion]


def comparison(result: Comparison) -> str:
    """Several runs side by side, in the run detail's place."""
    labelled = [
        (f"{v.id[-6:]} · {v.record.config.get('architecture')}", v.epochs, v.held_out or "train")
        for v in result.views
    ]
    return render("comparison", result=result, charts=comparison_charts(labelled))


def runs_list(records: list[RunRecord], *, oob: bool = False) -> str:
    entries = group_sweeps(records)
    return render("runs_list", entries=entries, runs_count=len(records), oob=oob)


def model_picker(models: list[Model], *, oob: bool = False) -> str:
    """The trained models, the best one chosen (the page keeps a person's own choice)."""
    best = best_model(models)
    return render("model_picker", models=models, default_id=best and best.id, oob=oob)


def samples(found: list[Sample], *, has_models: bool, oob: bool = False) -> str:
    return render("samples", samples=found, has_models=has_models, oob=oob)


def announcement(text: str) -> str:
    """``text`` into the page's one live region for screen readers (kept, its content swapped)."""
    return f'<p id="announcer" hx-swap-oob="innerHTML">{escape(text)}</p>'


def run_queue(waiting: list[tuple[RunRecord, int | None]], *, oob: bool = False) -> str:
    return render("run_queue", waiting=waiting, oob=oob)


def train_submit(busy: bool, *, oob: bool = False) -> str:
    """The form's button: "Queue run" while a run trains or waits."""
    return render("train_submit", busy=busy, oob=oob)


def queue_state(waiting: list[tuple[RunRecord, int | None]], busy: bool) -> str:
    """The queue and the form's button, pushed whenever a run joins, starts or ends."""
    return run_queue(waiting, oob=True) + train_submit(busy, oob=True)


def dataset_choice(datasets: list[DatasetInfo]) -> str:
    """The training form's dataset options, swapped in over the page's socket."""
    return render("dataset_choice", datasets=datasets)


def snapshot(
    view: RunView | None,
    records: list[RunRecord],
    models: list[Model],
    found: list[Sample],
) -> str:
    """Everything live on the page, for a (re)connecting socket."""
    return (
        run_panel(view, oob=True)
        + run_history(view, oob=True)
        + runs_list(records, oob=True)
        + model_picker(models, oob=True)
        + samples(found, has_models=bool(models), oob=True)
    )


def touches_history(event: Event | None) -> bool:
    return isinstance(event, Started | EpochEnd)
