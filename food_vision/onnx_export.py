"""ONNX export of a trained model, and the check that it computes what the original does.

An export is only offered when onnxruntime, run on real test photos of the run's dataset (or on
generated inputs when the dataset is gone), agrees with torch on every top-1 class and no logit
differs by more than ``MAX_LOGIT_DIFFERENCE``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from torch import Tensor, nn

from food_vision.bundle import ModelMeta
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.registry import resolve_dataset
from food_vision.images import open_image
from food_vision.transforms import eval_transform

INPUT_NAME, OUTPUT_NAME = "images", "logits"
MAX_LOGIT_DIFFERENCE = 1e-3
VERIFY_IMAGES = 16
OPSET = 18


class ExportError(ValueError):
    """The model cannot be exported faithfully; the message says what differed."""


@dataclass(frozen=True)
class Verification:
    images: int
    source: str
    max_abs_logit_difference: float
    top1_agreement: float
    tolerance: float = MAX_LOGIT_DIFFERENCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_onnx(model: nn.Module, meta: ModelMeta, path: Path) -> None:
    """Write ``model`` as ONNX with a dynamic batch dimension (torch.export based)."""
    example = torch.zeros(2, 3, meta.input_size, meta.input_size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    # The exporter narrates its steps on stdout, which may be a trainer's event channel.
    with contextlib.redirect_stdout(io.StringIO()):
        program = torch.onnx.export(
            model.eval(),
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            opset_version=OPSET,
            verbose=False,
        )
    if program is None:
        raise ExportError("the exporter produced no model")
    program.save(str(path))


def verification_batch(meta: ModelMeta, data_dir: Path) -> tuple[Tensor, str]:
    """Up to ``VERIFY_IMAGES`` test photos of the run's dataset, preprocessed as for
    prediction; generated inputs when the dataset is no longer there."""
    transform = eval_transform(meta.input_size, meta.mean, meta.std)
    try:
        root = resolve_dataset(meta.dataset, data_dir, download=False)
        samples = validate_image_folder(root).samples("test")
    except (ValueError, OSError) as exc:
        logging.getLogger(__name__).info("verifying on generated inputs: %s", exc)
        samples = []
    step = max(1, len(samples) // VERIFY_IMAGES)
    chosen = samples[::step][:VERIFY_IMAGES]
    if chosen:
        images = [transform(open_image(path)) for path, _ in chosen]
        return torch.stack(images), f"{len(chosen)} test photos of {meta.dataset}"
    rng = np.random.default_rng(0)
    noise = [
        Image.fromarray(rng.integers(0, 256, (meta.input_size, meta.input_size, 3), np.uint8))
        for _ in range(VERIFY_IMAGES)
    ]
    return torch.stack([transform(image) for image in noise]), "generated inputs"


def verify(model: nn.Module, onnx_path: Path, batch: Tensor, source: str) -> Verification:
    """Run both on ``batch``; raises :class:`ExportError` unless they agree."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return compare(model, session, batch, source)


def compare(
    model: nn.Module, session: ort.InferenceSession, batch: Tensor, source: str
) -> Verification:
    """``verify`` for a session already open."""
    with torch.inference_mode():
        expected = model.eval()(batch).numpy()
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})
    difference = float(np.abs(expected - got).max())
    agreement = float((expected.argmax(axis=1) == got.argmax(axis=1)).mean())
    result = Verification(len(batch), source, difference, agreement)
    if agreement < 1.0 or not difference <= MAX_LOGIT_DIFFERENCE:
        raise ExportError(
            f"the ONNX model differs from the original on {source}: top-1 agreement "
            f"{agreement:.1%}, largest logit difference {difference:.2g} "
            f"(allowed {MAX_LOGIT_DIFFERENCE:g})"
        )
    return result
