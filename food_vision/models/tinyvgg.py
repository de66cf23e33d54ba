"""TinyVGG: a small convolutional network trained from scratch, quick on a CPU."""

from __future__ import annotations

from torch import Tensor, nn


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class TinyVGG(nn.Module):
    """Two VGG-style blocks (the CNN Explainer design) with batch norm so that it learns in
    a few epochs, and global average pooling so that any input size works."""

    def __init__(self, num_classes: int, hidden: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _conv_block(3, hidden), _conv_block(hidden, hidden * 2), _conv_block(hidden * 2, 64)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.classifier(self.pool(self.features(x)).flatten(1))
        return logits


def build_tinyvgg(num_classes: int, pretrained: bool) -> nn.Module:
    return TinyVGG(num_classes)
