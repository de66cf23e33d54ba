"""The architectures a run can use, each with its input size and normalisation.

This module imports no torch: the trainer validates a configuration against it before any
heavy import, and the server lists architectures cheaply.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TF_MEAN = (127 / 255,) * 3
TF_STD = (128 / 255,) * 3

Weights = Literal["none", "bundled", "download"]


@dataclass(frozen=True)
class Architecture:
    name: str
    title: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: Weights
    builder: str
    blocks: int = 0  # backbone units a fine-tuning run can unfreeze (see models.stages)
    weights_file: str = ""  # the downloaded weights' file name in the torch cache
    weights_mb: float = 0.0  # and their download size

    @property
    def short_title(self) -> str:
        """The title without its parenthesis: what fits a phone's dropdown."""
        return self.title.split(" (", 1)[0]

    @property
    def has_pretrained(self) -> bool:
        return self.weights != "none"

    @property
    def default_pretrained(self) -> bool:
        """Pretrained by default only where the weights need no download."""
        return self.weights == "bundled"

    def build(self, num_classes: int, pretrained: bool) -> nn.Module:
        """A fresh model; with ``pretrained`` the backbone is frozen and the head is new."""
        if pretrained and not self.has_pretrained:
            raise ValueError(f"{self.name} has no pretrained weights")
        module_name, func_name = self.builder.split(":")
        factory = getattr(importlib.import_module(module_name), func_name)
        model: nn.Module = factory(num_classes, pretrained)
        return model

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "input_size": self.input_size,
            "pretrained_weights": self.weights,
            "default_pretrained": self.default_pretrained,
            "blocks": self.blocks,
        }


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            "efficientnet_lite0",
            "EfficientNet-Lite0 (ImageNet weights bundled, works offline)",
            224,
            TF_MEAN,
            TF_STD,
            "bundled",
            "food_vision.models.efficientnet_lite:build_efficientnet_lite0",
            blocks=18,
        ),
        Architecture(
            "tinyvgg",
            "TinyVGG (from scratch, fast on a CPU)",
            64,
            IMAGENET_MEAN,
            IMAGENET_STD,
            "none",
            "food_vision.models.tinyvgg:build_tinyvgg",
        ),
        Architecture(
            "mobilenet_v3_small",
            "MobileNetV3-Small (torchvision)",
            224,
            IMAGENET_MEAN,
            IMAGENET_STD,
            "download",
            "food_vision.models.torchvision_models:mobilenet_v3_small",
            blocks=13,
            weights_file="mobilenet_v3_small-047dcff4.pth",
            weights_mb=9.8,
        ),
        Architecture(
            "efficientnet_b0",
            "EfficientNet-B0 (torchvision)",
            224,
            IMAGENET_MEAN,
            IMAGENET_STD,
            "download",
            "food_vision.models.torchvision_models:efficientnet_b0",
            blocks=9,
            weights_file="efficientnet_b0_rwightman-7f5810bc.pth",
            weights_mb=20.5,
        ),
        Architecture(
            "efficientnet_b2",
            "EfficientNet-B2 (torchvision)",
            288,
            IMAGENET_MEAN,
            IMAGENET_STD,
            "download",
            "food_vision.models.torchvision_models:efficientnet_b2",
            blocks=9,
            weights_file="efficientnet_b2_rwightman-c35c1473.pth",
            weights_mb=35.2,
        ),
    )
}
DEFAULT_ARCHITECTURE = "efficientnet_lite0"


class UnknownArchitectureError(ValueError):
    pass


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise UnknownArchitectureError(
            f"unknown architecture {name!r}; choose one of: {known}"
        ) from None
