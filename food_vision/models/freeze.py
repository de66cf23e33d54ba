"""Transfer learning helpers: freeze a backbone, train a new head."""

from __future__ import annotations

from torch import nn


def freeze_except(model: nn.Module, trainable: nn.Module) -> None:
    """Stop gradients everywhere in ``model`` except in ``trainable`` (the new head)."""
    for param in model.parameters():
        param.requires_grad_(False)
    for param in trainable.parameters():
        param.requires_grad_(True)


def set_train_mode(model: nn.Module) -> None:
    """``model.train()``, but batch-norm layers whose parameters are frozen stay in eval mode.

    A frozen backbone must keep its pretrained running statistics: updating them from small
    batches of a new dataset shifts the features under the head and costs accuracy.
    """
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                module.eval()
