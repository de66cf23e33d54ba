"""Image transforms derived from an architecture's declared input size and normalisation."""

from __future__ import annotations

from collections.abc import Sequence

from torchvision import transforms as T


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> T.Compose:
    """The transform used for evaluation and prediction alike."""
    return T.Compose(
        [
            T.Resize(size, antialias=True),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )


def train_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> T.Compose:
    """Light augmentation: random crops, flips and a little colour jitter."""
    return T.Compose(
        [
            T.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
            T.RandomHorizontalFlip(),
            T.ColorJitter(brightness=0.15, contrast=0.15, saturation=0.15),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )
