"""The words for the page's choices: datasets, architectures and trained models, short enough
for a phone's dropdown, saying what works offline and what needs a download first."""

from __future__ import annotations

import datetime as dt

from backend.services.datasets import DatasetInfo
from food_vision.bundle import ModelMeta
from food_vision.datasets.registry import NAMED
from food_vision.models import Architecture
from food_vision.models.weights_cache import needs_download
from food_vision.numbers import is_finite_number
from food_vision.runs import RunRecord, RunStatus


def dataset_label(info: DatasetInfo) -> str:
    """``name · what it holds``, or what preparing it takes."""
    entry = info.entry
    if info.problem:
        return (
            f"{entry.name} · not ready" if entry.kind == "managed" else f"{entry.name} · not usable"
        )
    if info.summary is not None:
        return f"{entry.name} · {info.summary.num_train} train / {info.summary.num_test} test"
    if to_download(info):
        return f"{entry.name} · download"
    return f"{entry.name} · made on first use, offline"


def to_download(info: DatasetInfo) -> str:
    """The size of what preparing the dataset downloads ("16 MB"), or "" when nothing."""
    named = NAMED.get(info.entry.name)
    return named.download_size if named is not None and not info.entry.available else ""


def downloads_note(datasets: list[DatasetInfo]) -> str:
    """Which datasets a run would download first, with their sizes, in a sentence."""
    sizes = [f"{info.entry.name} ({size})" for info in datasets if (size := to_download(info))]
    return f"Downloaded when first used: {', '.join(sizes)}." if sizes else ""


def architecture_label(arch: Architecture) -> str:
    """``Name · its ImageNet weights``: included, here already, a download, or none."""
    if arch.weights == "bundled":
        weights = "weights included"
    elif arch.weights == "none":
        weights = "from scratch"
    elif needs_download(arch):
        weights = f"{arch.weights_mb:.0f} MB download"
    else:
        weights = "weights here"
    return f"{arch.short_title} · {weights}"


def model_name(record: RunRecord, meta: ModelMeta) -> str:
    """A trained model as the picker and the prediction name it: architecture · dataset ·
    test accuracy · start time; a cancelled run's model says which epoch it kept."""
    accuracy = meta.metrics.get("test_acc")
    shown = f"{accuracy * 100:.1f}%" if is_finite_number(accuracy) else "no test score"
    started = dt.datetime.fromtimestamp(record.created_at).strftime("%H:%M")
    name = f"{meta.architecture} · {record.config.get('dataset', '?')} · {shown} · {started}"
    if record.status is RunStatus.CANCELLED:
        name += f" (cancelled, kept epoch {meta.epoch})"
    return name


def run_facts(record: RunRecord) -> str:
    """A past run in a line: how far it got, its learning rate and its best accuracy."""
    total = record.config.get("epochs", 0)
    if record.status is RunStatus.COMPLETED:
        progress = f"{record.epoch} epoch{'s' if record.epoch != 1 else ''}"
    else:
        progress = f"epoch {record.epoch} of {total}"
    facts = [progress, f"lr {record.config.get('learning_rate', '?')}"]
    for split in ("test", "validation"):
        accuracy = record.metrics.get(f"{split}_acc")
        if is_finite_number(accuracy):
            facts.append(f"{split} acc {accuracy * 100:.1f}%")
            break
    return " · ".join(facts)
