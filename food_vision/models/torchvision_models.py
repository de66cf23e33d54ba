"""torchvision architectures, with ImageNet weights fetched once into the torch cache.

Weights come through torchvision's weights API (its URLs and file names). They are downloaded
with our streamed downloader (timeouts, size cap) rather than ``torch.hub``, so that an offline
machine gets a clear error within seconds, and they are read with ``weights_only=True``.
``FOODVISION_WEIGHTS_MIRROR`` replaces ``https://download.pytorch.org/models/`` for hosts that
keep their own copy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import torch
import torchvision.models as tvm
from torch import nn

from food_vision.datasets.download import DownloadError, download_file
from food_vision.models.freeze import freeze_except
from food_vision.models.weights_cache import checkpoint_dir, weights_url

WEIGHTS_TIMEOUT_SECONDS = 20.0


class PretrainedWeightsError(RuntimeError):
    """The pretrained weights are neither cached nor downloadable."""


def fetch_state_dict(weights: tvm.WeightsEnum) -> dict[str, torch.Tensor]:
    """The state dict of ``weights``, from the torch cache or downloaded into it once."""
    filename = Path(urlsplit(weights.url).path).name
    cached = checkpoint_dir() / filename
    if not cached.exists():
        url = weights_url(weights.url)
        try:
            download_file(url, cached, timeout=WEIGHTS_TIMEOUT_SECONDS, progress=False)
        except DownloadError as exc:
            raise PretrainedWeightsError(
                f"pretrained weights {filename} are not cached and could not be downloaded "
                f"({exc}); put the file in {checkpoint_dir()} or train without --pretrained"
            ) from None
    try:
        state: dict[str, torch.Tensor] = torch.load(cached, map_location="cpu", weights_only=True)
        return state
    except Exception as exc:
        raise PretrainedWeightsError(f"cached weights {cached} are unreadable: {exc}") from None


def _build(
    factory: Callable[..., nn.Module],
    weights: tvm.WeightsEnum,
    num_classes: int,
    pretrained: bool,
) -> nn.Module:
    if not pretrained:
        return factory(weights=None, num_classes=num_classes)
    model = factory(weights=None)
    model.load_state_dict(fetch_state_dict(weights), strict=True)
    classifier = model.get_submodule("classifier")
    assert isinstance(classifier, nn.Sequential), "MobileNet and EfficientNet end in a Sequential"
    last = classifier[-1]
    assert isinstance(last, nn.Linear)
    classifier[-1] = nn.Linear(last.in_features, num_classes)
    freeze_except(model, classifier)
    return model


def mobilenet_v3_small(num_classes: int, pretrained: bool) -> nn.Module:
    weights = tvm.MobileNet_V3_Small_Weights.IMAGENET1K_V1
    return _build(tvm.mobilenet_v3_small, weights, num_classes, pretrained)


def efficientnet_b0(num_classes: int, pretrained: bool) -> nn.Module:
    weights = tvm.EfficientNet_B0_Weights.IMAGENET1K_V1
    return _build(tvm.efficientnet_b0, weights, num_classes, pretrained)


def efficientnet_b2(num_classes: int, pretrained: bool) -> nn.Module:
    weights = tvm.EfficientNet_B2_Weights.IMAGENET1K_V1
    return _build(tvm.efficientnet_b2, weights, num_classes, pretrained)
