"""Training throughput on the demo dataset: how long the demo takes to generate, and epochs
through ``food_vision.engine.train`` with the real data loaders."""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from bench.timing import timed
from food_vision.batches import BatchPlan, image_batches
from food_vision.datasets.demo import generate_demo
from food_vision.datasets.layout import DatasetSummary, validate_image_folder
from food_vision.datasets.loaders import Loaders, SplitSamples, default_workers
from food_vision.engine import EpochResult, train
from food_vision.models import get_architecture

CPU = torch.device("cpu")


def bench_demo(work: Path) -> tuple[Path, float]:
    seconds, root = timed(lambda: generate_demo(work / "demo"))
    assert isinstance(root, Path)
    return root, seconds


def demo_loaders(
    root: Path, architecture: str, *, batch_size: int, seed: int, workers: int | None = None
) -> tuple[DatasetSummary, Loaders]:
    """The real data loaders over ``root``, sized and normalised for ``architecture``; the
    test images stand in for a validation split (each epoch evaluates them)."""
    arch = get_architecture(architecture)
    summary = validate_image_folder(root)
    plan = BatchPlan(
        arch=arch,
        image_size=arch.input_size,
        augment=True,
        views=1,
        batch_size=batch_size,
        seed=seed,
        workers=default_workers() if workers is None else workers,
        device=CPU,
    )
    test = summary.samples("test")
    return summary, image_batches(plan, SplitSamples(summary.samples("train"), test, test))


def bench_throughput(
    root: Path,
    architecture: str,
    epochs: int,
    batch_size: int,
    seed: int,
    max_steps: int | None = None,
) -> list[EpochResult]:
    """The history of ``epochs`` epochs through ``engine.train`` (default loader workers)."""
    arch = get_architecture(architecture)
    summary, loaders = demo_loaders(root, architecture, batch_size=batch_size, seed=seed)
    torch.manual_seed(seed)
    model = arch.build(len(summary.classes), pretrained=False)
    outcome = train(
        model,
        train_batches=loaders.train,
        validation_batches=loaders.validation,
        steps_per_epoch=loaders.steps_per_epoch,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        epochs=epochs,
        device=CPU,
        stop=threading.Event(),
        max_steps=max_steps,
    )
    return outcome.history
