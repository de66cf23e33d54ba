"""Prediction's ONNX Runtime engine: the same answers as torch for every architecture, and
torch kept whenever a copy cannot be made or answers differently."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from food_vision.models import ARCHITECTURES
from food_vision.onnx_runtime import runtime_copy
from food_vision.predict import Predictor
from tests.utils.factories import make_bundle


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_the_onnx_engine_answers_as_torch(tmp_path: Path, architecture: str) -> None:
    make_bundle(tmp_path, architecture=architecture, seed=3)
    fast = Predictor.from_bundle(tmp_path)
    plain = Predictor.from_bundle(tmp_path, "torch")
    assert (fast.engine, plain.engine) == ("onnxruntime", "torch")
    size = fast.meta.input_size
    batch = torch.randn(5, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        logits = plain.model(batch.contiguous(memory_format=torch.channels_last))
    assert fast.runtime is not None
    torch.testing.assert_close(fast.runtime.logits(batch), logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast.probabilities(batch), plain.probabilities(batch))
    assert fast.probabilities(batch[:1]).shape == (1, len(fast.classes))


def test_a_lone_pass_runs_on_a_session_of_more_threads_with_the_same_answers(
    tmp_path: Path,
) -> None:
    make_bundle(tmp_path, architecture="tinyvgg", seed=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        before = _threads()
        predictor = Predictor.from_bundle(tmp_path, lone_threads=3)
        added = _threads() - before
    finally:
        torch.set_num_threads(threads)
    assert added == 2  # the lone session's pool; the batched one runs on the caller's thread
    size = predictor.meta.input_size
    batch = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(predictor.probabilities(batch, lone=True),
                               predictor.probabilities(batch))  # fmt: skip


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


class ValueDependent(nn.Module):
    """Doubles its answer when the input sums above zero: a Python branch the exporter's trace
    records as the one taken for its example (zeros), so the copy answers differently."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3 * 8 * 8, 2)

    def forward(self, images: Tensor) -> Tensor:
        logits: Tensor = self.head(images.flatten(1))
        return logits * 2 if float(images.sum()) > 0 else logits


class Unexportable(nn.Module):
    """An operator the ONNX exporter has no translation for."""

    def forward(self, images: Tensor) -> Tensor:
        return torch.fft.fft(images.flatten(1)).abs()[:, :2]


@pytest.mark.parametrize("model", [ValueDependent(), Unexportable()], ids=type)
def test_a_copy_that_differs_or_cannot_be_made_leaves_torch(
    model: nn.Module, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="food_vision.onnx_runtime"):
        assert runtime_copy(model.eval(), 8) is None
    (record,) = caplog.records
    assert record.getMessage().startswith("predicting with torch: no ONNX copy (")
