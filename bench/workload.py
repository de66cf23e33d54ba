"""What the benchmarks train and predict on: the tiny demo dataset, tinyvgg, run configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DATASET = "tiny"
ARCH = "tinyvgg"
IMAGE_SIZE = 64


def trainer_threads() -> int:
    """The server's default trainer threads (one core kept for the server)."""
    return max(1, (os.cpu_count() or 2) - 1)


def make_data(data_dir: Path, train_per_class: int, test_per_class: int) -> Path:
    from food_vision.datasets.demo import generate_demo

    return generate_demo(
        data_dir / DATASET,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        size=IMAGE_SIZE,
    )


def run_config(epochs: int, batch_size: int = 8) -> dict[str, Any]:
    return {
        "dataset": DATASET,
        "architecture": ARCH,
        "epochs": epochs,
        "learning_rate": 0.001,
        "batch_size": batch_size,
        "pretrained": False,
    }
