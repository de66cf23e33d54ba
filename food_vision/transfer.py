"""What trains in a run, at which learning rate, and what is frozen in front of it.

A pretrained backbone is frozen and only its new classifier trains, unless the run fine-tunes
its last blocks: those then train too, at a tenth of the learning rate, so that the ImageNet
features they hold are adjusted rather than overwritten. Their batch-norm layers keep their
ImageNet statistics and scales either way: a few images per batch would only make them noisy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from food_vision.models.stages import stages_of

FINE_TUNE_LR_SCALE = 0.1


@dataclass(frozen=True)
class TransferPlan:
    """``front`` is frozen and runs once per image when its outputs are cached (None when
    nothing is frozen); ``rest`` trains on what ``front`` hands it. Together they are the
    model."""

    model: nn.Module
    front: nn.Module | None
    rest: nn.Module
    param_groups: list[dict[str, Any]]


def plan_training(
    model: nn.Module, *, pretrained: bool, fine_tune_blocks: int, learning_rate: float
) -> TransferPlan:
    if not pretrained:
        return TransferPlan(model, None, model, [_group(model.parameters(), learning_rate)])
    stages = stages_of(model)
    unfrozen = stages.blocks[len(stages.blocks) - min(fine_tune_blocks, len(stages.blocks)) :]
    for block in unfrozen:
        _unfreeze_except_batch_norm(block)
    groups = [_group(stages.classifier.parameters(), learning_rate)]
    if unfrozen:
        backbone = (param for block in unfrozen for param in block.parameters())
        groups.append(_group(backbone, learning_rate * FINE_TUNE_LR_SCALE))
    if len(unfrozen) == len(stages.blocks):
        return TransferPlan(model, None, model, groups)
    front, rest = stages.split(len(unfrozen))
    return TransferPlan(model, front, rest, groups)


def _group(params: Iterable[nn.Parameter], lr: float) -> dict[str, Any]:
    return {"params": [param for param in params if param.requires_grad], "lr": lr}


def _unfreeze_except_batch_norm(block: nn.Module) -> None:
    for module in block.modules():
        if not isinstance(module, nn.modules.batchnorm._BatchNorm):
            for param in module.parameters(recurse=False):
                param.requires_grad_(True)
