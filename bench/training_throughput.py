"""Training throughput on the demo dataset: how long the demo takes to generate, and epochs
through ``food_vision.engine.train`` with the real data loaders."""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from bench.timing import timed
from food_vision.datasets.demo import generate_demo
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.loaders import build_loaders, default_workers
from food_vision.engine import EpochResult, train
from food_vision.models import get_architecture

CPU = torch.device("cpu")


def bench_demo(work: Path) -> tuple[Path, float]:
    seconds, root = timed(lambda: generate_demo(work / "demo"))
    assert isinstance(root, Path)
    return root, seconds


# ------------------------------------------------------------------------------ 2. throughput


def bench_throughput(
    root: Path,
    architecture: str,
    epochs: int,
    batch_size: int,
    seed: int,
    max_steps: int | None = None,
) -> list[EpochResult]:
    arch = get_architecture(architecture)
    summary = validate_image_folder(root)
    loaders = build_loaders(
        summary,
        image_size=arch.input_size,
        mean=arch.mean,
        std=arch.std,
        batch_size=batch_size,
        seed=seed,
        workers=default_workers(),
        device=CPU,
    )
    torch.manual_seed(seed)
    model = arch.build(len(summary.classes), pretrained=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    outcome = train(
        model,
        train_batches=loaders.train,
        test_batches=loaders.test,
        steps_per_epoch=loaders.steps_per_epoch,
        epochs=epochs,
        optimizer=optimizer,
        device=CPU,
        stop=threading.Event(),
        max_steps=max_steps,
    )
    return outcome.history
