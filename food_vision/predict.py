"""Prediction from a saved bundle: batched top-k over RGB images.

The network is prepared for inference alone: batch norms folded into their convolutions and
activations laid out channels-last, which oneDNN's CPU convolutions prefer. On one core that
took EfficientNet-Lite0 from about 40 to 24-32 ms per image, with the same outputs to 1e-5.
With the ``onnxruntime`` engine (the default), the forward pass then runs on a checked ONNX
Runtime copy of that network (``food_vision.onnx_runtime``), about twice as fast again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn

from food_vision.bundle import ModelMeta, load_bundle
from food_vision.images import to_rgb
from food_vision.models.folding import fold_batch_norms
from food_vision.onnx_runtime import runtime_copy
from food_vision.settings import DEFAULT_ENGINE, Engine
from food_vision.transforms import eval_transform, normalize_pixels


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


class Predictor:
    """A loaded model with its preprocessing; ``predict`` takes any number of images.

    ``lone_threads``: the threads of a pass told it is alone on the machine (``lone=True``),
    on the ONNX Runtime engine; torch's threads are the process's own and stay as they are.
    """

    def __init__(
        self,
        model: nn.Module,
        meta: ModelMeta,
        engine: Engine = DEFAULT_ENGINE,
        lone_threads: int = 1,
    ) -> None:
        self.model = fold_batch_norms(model).to(memory_format=torch.channels_last)
        self.meta = meta
        self.transform = eval_transform(meta.input_size, meta.mean, meta.std)
        self.runtime = (
            runtime_copy(self.model, meta.input_size, lone_threads)
            if engine == "onnxruntime"
            else None
        )

    @classmethod
    def from_bundle(
        cls, folder: Path, engine: Engine = DEFAULT_ENGINE, lone_threads: int = 1
    ) -> Predictor:
        model, meta = load_bundle(Path(folder))
        return cls(model, meta, engine, lone_threads)

    @property
    def engine(self) -> Engine:
        """The engine that runs the forward passes: torch when no ONNX copy could be made."""
        return "torch" if self.runtime is None else "onnxruntime"

    @property
    def classes(self) -> list[str]:
        return self.meta.classes

    def preprocess(self, image: Image.Image) -> Tensor:
        tensor: Tensor = self.transform(to_rgb(image))
        return tensor

    def probabilities(self, batch: Tensor, *, lone: bool = False) -> Tensor:
        """Softmax over a preprocessed batch, shape (N, classes)."""
        with torch.inference_mode():
            if self.runtime is not None:
                return torch.softmax(self.runtime.logits(batch, lone=lone), dim=1)
            logits = self.model(batch.contiguous(memory_format=torch.channels_last))
            return torch.softmax(logits, dim=1)

    def pixel_probabilities(self, pixels: Tensor, *, lone: bool = False) -> Tensor:
        """Softmax over cropped 8-bit pixels (N, H, W, 3) (``eval_crop``'s output), shape
        (N, classes)."""
        normalized = normalize_pixels(pixels, self.meta.mean, self.meta.std)
        return self.probabilities(normalized, lone=lone)

    def predict(self, images: Sequence[Image.Image], top_k: int = 3) -> list[list[Prediction]]:
        if not images:
            return []
        batch = torch.stack([self.preprocess(image) for image in images])
        return self.top_k(self.probabilities(batch), top_k)

    def top_k(self, probabilities: Tensor, k: int) -> list[list[Prediction]]:
        return top_k(probabilities, self.classes, k)


def top_k(probabilities: Tensor, classes: Sequence[str], k: int) -> list[list[Prediction]]:
    """The ``k`` likeliest classes of each row of ``probabilities`` (N, classes)."""
    k = max(1, min(k, len(classes)))
    values, indices = probabilities.topk(k, dim=1)
    return [
        [
            Prediction(classes[index], round(float(value), 6))
            for value, index in zip(row_values, row_indices, strict=True)
        ]
        for row_values, row_indices in zip(values.tolist(), indices.tolist(), strict=True)
    ]
