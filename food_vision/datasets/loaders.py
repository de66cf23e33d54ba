"""Data loaders sized for a small machine, over a validated ImageFolder dataset."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from food_vision.datasets.holdout import Sample
from food_vision.distributed import ALONE, Group
from food_vision.images import open_image
from food_vision.process_group import die_with_parent
from food_vision.runtime import usable_cores
from food_vision.transforms import eval_transform, train_transform


@dataclass(frozen=True)
class SplitSamples:
    """The images of a run: what trains, what picks the best epoch, what measures the end."""

    train: Sequence[Sample]
    validation: Sequence[Sample]
    test: Sequence[Sample]


class ImageListDataset(Dataset[tuple[Tensor, int]]):
    """Labelled image files, decoded to RGB and transformed on access; a large JPEG is decoded
    at the smallest scale that still has ``min_side`` pixels on its shorter side."""

    def __init__(
        self,
        samples: Sequence[Sample],
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
    """Batches to train on, to pick the best epoch by (None: no validation split), and to
    evaluate once at the end."""

    train: DataLoader[Any]
    validation: DataLoader[Any] | None
    test: DataLoader[Any]

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train)


def default_workers() -> int:
    """Leave one core for the training loop itself: workers <= cores - 1, at most 4."""
    return max(0, min(4, usable_cores() - 1))


def _worker_init(_: int) -> None:
    """Workers ignore the stop signals (the trainer stops them) and die with the trainer."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    torch.set_num_threads(1)


def build_loaders(
    splits: SplitSamples,
    *,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    augment: bool,
    batch_size: int,
    seed: int,
    workers: int | None = None,
    device: torch.device | None = None,
    group: Group = ALONE,
) -> Loaders:
    """Image loaders; training images are augmented afresh each epoch when ``augment``.

    In a ``group`` of processes each trains on and validates its share (the test split is
    the leader's, whole)."""
    workers = default_workers() if workers is None else workers
    plain = eval_transform(image_size, mean, std)
    loader = partial(
        seeded_loader,
        batch_size=batch_size,
        workers=workers,
        seed=seed,
        pin=device is not None and device.type == "cuda",
        persistent=True,
    )
    fit = train_transform(image_size, mean, std) if augment else plain
    validation = splits.validation
    images = partial(ImageListDataset, min_side=image_size)
    train = images(splits.train, fit)
    checks = images(validation, plain)
    return Loaders(
        loader(train, shuffle=True, sampler=group.train_sampler(train, seed)),
        loader(checks, sampler=group.eval_sampler(checks)) if validation else None,
        loader(images(splits.test, plain)),
    )


def seeded_loader(
    dataset: Dataset[Any],
    *,
    batch_size: int,
    workers: int,
    seed: int,
    shuffle: bool = False,
    pin: bool = False,
    persistent: bool = False,
    collate: Callable[[Any], Any] | None = None,
    sampler: Iterable[int] | None = None,
) -> DataLoader[Any]:
    """One loader with its own seeded generator: its shuffles and its workers' random
    augmentations repeat with the seed and draw nothing from torch's global generator, so
    adding or removing a loader changes no other randomness of the run. Workers die with the
    trainer."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,  # a sampler (a process's share) has its own order
        sampler=sampler,
        generator=torch.Generator().manual_seed(seed),
        num_workers=workers,
        persistent_workers=persistent and workers > 0,
        pin_memory=pin,
        worker_init_fn=_worker_init if workers > 0 else None,
        collate_fn=collate,
    )
