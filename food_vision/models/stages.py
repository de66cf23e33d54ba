"""A network as a chain of stages, so that its frozen front can run once per image.

``blocks`` are the backbone's units in order (the last is the head convolution), ``pool`` turns
the last block's map into a vector, and ``classifier`` maps that vector to logits: applied in
that order they are the model's own forward pass. The stages share the model's modules, so
training a stage trains the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn


@dataclass(frozen=True)
class Stages:
    blocks: tuple[nn.Module, ...]
    pool: nn.Module
    classifier: nn.Module

    def split(self, trainable_blocks: int) -> tuple[nn.Sequential, nn.Sequential]:
        """(front, rest): the rest is the last ``trainable_blocks`` blocks and the classifier.

        With no trainable block the pooling belongs to the front, so that what the front hands
        on is one vector per image, not a feature map.
        """
        if trainable_blocks <= 0:
            return nn.Sequential(*self.blocks, self.pool), nn.Sequential(self.classifier)
        cut = max(0, len(self.blocks) - trainable_blocks)
        rest = nn.Sequential(*self.blocks[cut:], self.pool, self.classifier)
        return nn.Sequential(*self.blocks[:cut]), rest


class ConvNormAct(nn.Module):
    """A convolution, its batch norm and an activation as one stage, sharing the layers of a
    model that applies them in its own ``forward`` (EfficientNet-Lite0's stem and head)."""

    BATCH_NORM_AFTER: ClassVar[dict[str, str]] = {"conv": "bn"}  # see models.folding

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, act: nn.Module) -> None:
        super().__init__()
        self.conv, self.bn, self.act = conv, bn, act

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.act(self.bn(self.conv(x)))
        return out


def stages_of(model: nn.Module) -> Stages:
    """The model's own ``stages()``, or torchvision's layout (``features``, ``avgpool``,
    ``classifier``), which its EfficientNets and MobileNets share."""
    own = getattr(model, "stages", None)
    if callable(own):
        stages: Stages = own()
        return stages
    features = model.get_submodule("features")
    pool = nn.Sequential(model.get_submodule("avgpool"), nn.Flatten(1))
    return Stages(tuple(features.children()), pool, model.get_submodule("classifier"))
