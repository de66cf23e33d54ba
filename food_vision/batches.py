"""The batches a run trains on: decoded images, or the cached outputs of its frozen front.

Both kinds are drawn in the same order for the same seed (the same shuffling generator over
the same number of rows), so without augmentation a head trained on cached features gets the
weights it would have got from images, up to float rounding.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from food_vision.datasets.loaders import Loaders, SplitSamples, build_loaders, seeded_loader
from food_vision.distributed import ALONE, Group
from food_vision.features import (
    CachedRows,
    ProgressCallback,
    SplitImages,
    batch_as_is,
    cache_key,
    compute_features,
    open_cached,
)
from food_vision.models import Architecture
from food_vision.transforms import eval_transform, train_transform


@dataclass(frozen=True)
class BatchPlan:
    """What decides the batches of a run, taken from its config and options."""

    arch: Architecture
    image_size: int
    augment: bool
    views: int
    batch_size: int
    seed: int
    workers: int
    device: torch.device
    group: Group = ALONE

    @property
    def cached_views(self) -> int:
        return self.views if self.augment else 1

    def cached_steps(self, splits: SplitSamples) -> int:
        """Steps per epoch over cached rows, of each process of the group."""
        rows = math.ceil(len(splits.train) * self.cached_views / self.group.size)
        return math.ceil(rows / self.batch_size)


def image_batches(plan: BatchPlan, splits: SplitSamples) -> Loaders:
    return build_loaders(
        splits,
        image_size=plan.image_size,
        mean=plan.arch.mean,
        std=plan.arch.std,
        augment=plan.augment,
        batch_size=plan.batch_size,
        seed=plan.seed,
        workers=plan.workers,
        device=plan.device,
        group=plan.group,
    )


def feature_batches(
    plan: BatchPlan,
    splits: SplitSamples,
    front: nn.Module,
    folder: Path,
    *,
    stop: threading.Event,
    on_progress: ProgressCallback,
) -> Loaders | None:
    """Loaders over ``front``'s cached outputs, computed now unless ``folder`` already holds
    them for the same key; None when stopped during the feature pass.

    The processes of a data-parallel run share the leader's folder and key, and compute
    the features unless every one of them finds them there."""
    group = plan.group
    images = _split_images(plan, splits)
    key = cache_key(
        front,
        images,
        architecture=plan.arch.name,
        image_size=plan.image_size,
        augment=plan.augment,
        seed=plan.seed,
    )
    folder, key = group.from_leader((folder, key))
    cached = open_cached(folder, key)
    if group.agree(cached is None):
        cached = compute_features(
            front,
            images,
            folder,
            key,
            device=plan.device,
            workers=plan.workers,
            seed=plan.seed,
            stop=stop,
            on_progress=on_progress,
            group=group,
        )
    if cached is None:
        return None
    validation = cached.get("validation")
    train = cached["train"]
    return Loaders(
        _rows_loader(plan, train, shuffle=True, sampler=group.train_sampler(train, plan.seed)),
        _rows_loader(plan, validation, sampler=group.eval_sampler(validation))
        if validation is not None
        else None,
        _rows_loader(plan, cached["test"]),
    )


def _split_images(plan: BatchPlan, splits: SplitSamples) -> list[SplitImages]:
    arch, size = plan.arch, plan.image_size
    plain = eval_transform(size, arch.mean, arch.std)
    augmented = train_transform(size, arch.mean, arch.std)
    parts = [SplitImages("train", splits.train, plain, augmented, plan.cached_views)]
    if splits.validation:
        parts.append(SplitImages("validation", splits.validation, plain))
    return [*parts, SplitImages("test", splits.test, plain)]


def _rows_loader(
    plan: BatchPlan,
    rows: CachedRows,
    *,
    shuffle: bool = False,
    sampler: Iterable[int] | None = None,
) -> DataLoader[Any]:
    return seeded_loader(
        rows,
        batch_size=plan.batch_size,
        workers=0,
        seed=plan.seed,
        shuffle=shuffle,
        collate=batch_as_is,
        sampler=sampler,
    )
