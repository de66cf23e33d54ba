"""How a run's weights move: AdamW, a cosine learning-rate decay over the whole run, and
cross-entropy with label smoothing (the settings come from the run's config)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from food_vision.config import TrainConfig


def make_optimizer(param_groups: list[dict[str, Any]], config: TrainConfig) -> torch.optim.AdamW:
    return torch.optim.AdamW(
        param_groups, lr=config.learning_rate, weight_decay=config.weight_decay
    )


def make_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Each group's rate falls from its own start to zero along half a cosine, step by step:
    big steps while far from a solution, small ones to settle into it."""

    def factor(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_loss(config: TrainConfig) -> nn.CrossEntropyLoss:
    return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
