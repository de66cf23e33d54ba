"""The floor of a frozen backbone: every image of a dataset decoded and passed once through
the front the feature cache uses (EfficientNet-Lite0, batch norms folded), with the same
loader, batch and thread settings as the trainer's feature pass. Timed in this process, after
the model is built: no run can train a head on those features in less."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.loaders import ImageListDataset, seeded_loader
from food_vision.features import FEATURE_BATCH_ROWS
from food_vision.models import DEFAULT_ARCHITECTURE, get_architecture
from food_vision.models.folding import fold_batch_norms
from food_vision.models.stages import stages_of
from food_vision.transforms import eval_transform


@dataclass(frozen=True)
class Floor:
    seconds: float  # wall time of the pass
    cpu_seconds: float  # CPU time of the pass: this process and its loader worker
    images: int


def forward_floor(dataset: Path, *, threads: int, workers: int) -> Floor:
    """One decode and forward pass over every image of ``dataset``, timed."""
    torch.set_num_threads(threads)
    summary = validate_image_folder(dataset)
    arch = get_architecture(DEFAULT_ARCHITECTURE)
    model = arch.build(len(summary.classes), pretrained=True)
    front = fold_batch_norms(stages_of(model).split(0)[0])
    images = ImageListDataset(
        summary.samples("train") + summary.samples("test"),
        eval_transform(arch.input_size, arch.mean, arch.std),
    )
    loader = seeded_loader(images, batch_size=FEATURE_BATCH_ROWS, workers=workers, seed=0)
    with torch.inference_mode():
        front(torch.zeros(1, 3, arch.input_size, arch.input_size))  # first-call set-up
        started, cpu = time.perf_counter(), _cpu()
        for batch, _ in loader:
            front(batch)
        seconds = time.perf_counter() - started
    # The loader's worker has exited (not persistent) and been waited for: its time counts.
    return Floor(seconds, _cpu() - cpu, len(images))


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime
