"""Data loaders sized for a small machine, over a validated ImageFolder dataset."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from food_vision.datasets.layout import DatasetSummary
from food_vision.images import open_image
from food_vision.transforms import eval_transform, train_transform

PR_SET_PDEATHSIG = 1


class ImageListDataset(Dataset[tuple[Tensor, int]]):
    """Labelled image files, decoded to RGB and transformed on access; a large JPEG is decoded
    at the smallest scale that still has ``min_side`` pixels on its shorter side."""

    def __init__(
        self,
        samples: Sequence[tuple[Path, int]],
        transform: Callable[[Image.Image], Tensor],
        min_side: int | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path, label = self.samples[index]
        return self.transform(open_image(path, min_side=self.min_side)), label


@dataclass(frozen=True)
class Loaders:
    train: DataLoader[tuple[Tensor, int]]
    test: DataLoader[tuple[Tensor, int]]

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train)


def default_workers() -> int:
    """Leave one core for the training loop itself: workers <= cores - 1, at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(4, (cores or 1) - 1))


def _worker_init(_: int) -> None:
    """Workers ignore the stop signals (the trainer stops them) and die with the trainer."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    torch.set_num_threads(1)


def build_loaders(
    summary: DatasetSummary,
    *,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    seed: int,
    workers: int | None = None,
    device: torch.device | None = None,
) -> Loaders:
    workers = default_workers() if workers is None else workers
    pin = device is not None and device.type == "cuda"
    generator = torch.Generator().manual_seed(seed)
    loader = partial(_loader, batch_size=batch_size, workers=workers, pin=pin)
    train_images = train_transform(image_size, mean, std)
    train = ImageListDataset(summary.samples("train"), train_images, min_side=image_size)
    test_images = eval_transform(image_size, mean, std)
    test = ImageListDataset(summary.samples("test"), test_images, min_side=image_size)
    return Loaders(loader(train, shuffle=True, generator=generator), loader(test, shuffle=False))


def _loader(
    dataset: ImageListDataset,
    *,
    batch_size: int,
    workers: int,
    pin: bool,
    shuffle: bool,
    generator: torch.Generator | None = None,
) -> DataLoader[tuple[Tensor, int]]:
    """One loader; worker processes are kept across epochs and die with the trainer."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=pin,
        worker_init_fn=_worker_init if workers > 0 else None,
    )
