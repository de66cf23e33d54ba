"""Networks as chains of stages, and what a transfer-learning run trains at which rate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from food_vision.models import ARCHITECTURES, get_architecture
from food_vision.models.folding import fold_batch_norms
from food_vision.models.stages import stages_of
from food_vision.transfer import FINE_TUNE_LR_SCALE, TransferPlan, plan_training

WITH_BLOCKS = [name for name, arch in ARCHITECTURES.items() if arch.blocks]


@pytest.mark.parametrize("name", WITH_BLOCKS)
def test_stages_in_order_are_the_models_forward_pass(name: str) -> None:
    arch = get_architecture(name)
    torch.manual_seed(0)
    model = arch.build(3, pretrained=False).eval()
    stages = stages_of(model)
    assert len(stages.blocks) == arch.blocks
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for cut in (0, 1, arch.blocks):
            front, rest = stages.split(cut)
            assert torch.allclose(rest(front(x)), model(x), atol=1e-5)


def lite0_plan(
    fine_tune_blocks: int, learning_rate: float = 0.01
) -> tuple[nn.Module, TransferPlan]:
    torch.manual_seed(0)
    model = get_architecture("efficientnet_lite0").build(3, pretrained=True)
    plan = plan_training(
        model, pretrained=True, fine_tune_blocks=fine_tune_blocks, learning_rate=learning_rate
    )
    return model, plan


def trainable_names(model: nn.Module) -> set[str]:
    return {name for name, param in model.named_parameters() if param.requires_grad}


def test_a_frozen_backbone_hands_one_vector_per_image_to_the_head() -> None:
    model, plan = lite0_plan(0)
    assert plan.front is not None and plan.model is model
    assert trainable_names(model) == {"_fc.weight", "_fc.bias"}
    assert [group["lr"] for group in plan.param_groups] == [0.01]
    model.eval()
    with torch.no_grad():
        x = torch.randn(2, 3, 64, 64)
        features = plan.front(x)
        assert features.shape == (2, 1280)
        assert torch.allclose(plan.rest(features), model(x), atol=1e-5)


def test_fine_tuning_unfreezes_the_last_blocks_at_a_lower_rate() -> None:
    model, plan = lite0_plan(2)
    trainable = trainable_names(model)
    assert {"_conv_head.weight", "_blocks.15._project_conv.weight", "_fc.weight"} <= trainable
    assert not any(name.startswith(("_blocks.14.", "_conv_stem")) for name in trainable)
    assert not any("_bn" in name for name in trainable)  # batch norm keeps ImageNet's
    assert [group["lr"] for group in plan.param_groups] == [0.01, 0.01 * FINE_TUNE_LR_SCALE]
    in_groups = {id(p) for group in plan.param_groups for p in group["params"]}
    assert in_groups == {id(p) for p in model.parameters() if p.requires_grad}
    assert plan.front is not None
    with torch.no_grad():
        x = torch.randn(1, 3, 64, 64)
        assert plan.front(x).shape == (1, 192, 2, 2)  # what block 15 receives: a feature map


def test_fine_tuning_every_block_leaves_nothing_frozen_in_front() -> None:
    model, plan = lite0_plan(18)
    assert plan.front is None and plan.rest is model
    assert "_conv_stem.weight" in trainable_names(model)


def test_a_model_without_pretrained_weights_trains_everything() -> None:
    model = get_architecture("tinyvgg").build(3, pretrained=False)
    plan = plan_training(model, pretrained=False, fine_tune_blocks=0, learning_rate=0.1)
    assert plan.front is None and plan.rest is model
    assert len(plan.param_groups) == 1
    assert len(plan.param_groups[0]["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("name", WITH_BLOCKS)
def test_folded_batch_norms_give_the_same_features(name: str) -> None:
    torch.manual_seed(0)
    model = get_architecture(name).build(3, pretrained=False).eval()
    with torch.no_grad():  # statistics a fresh model would not have, so folding has work to do
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    front, _ = stages_of(model).split(0)
    folded = fold_batch_norms(front)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in front.modules())  # a copy was folded
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), front(x), atol=1e-4, rtol=1e-4)
