"""An ONNX Runtime copy of a loaded model, for the forward passes of prediction.

On a CPU, ONNX Runtime runs EfficientNet-Lite0 about twice as fast as eager PyTorch, even with
its batch norms folded (one thread: 16 against 28-37 ms at batch 1, 56 against 23 images/s at
batch 16). The copy is made in memory when a model is loaded, with the TorchScript-based
exporter: under a second, where the torch.export-based one that the downloadable export uses
takes about ten. It is used only after it has answered as the torch model does on a test batch;
otherwise prediction stays on torch, which is always right.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import numpy as np
import onnxruntime as ort
import torch
from torch import Tensor, nn

from food_vision.onnx_export import INPUT_NAME, OUTPUT_NAME, compare

CHECK_BATCH = 2


class RuntimeCopy:
    """A model's forward pass on ONNX Runtime: ``logits`` takes what the model takes.

    ``lone=True`` runs the pass on a second session with more threads, for a pass that has
    the machine to itself (a prediction that found no other under way). Its threads spin for
    tens of milliseconds after each pass, which only an idle machine can spare: one image
    of EfficientNet-Lite0 takes 6.5 ms on two threads against 10.5 ms on one, on the 2-core
    development machine, a virtual one, except in stretches of several seconds where two
    threads took 14 ms (one thread was unaffected by them).
    """

    def __init__(
        self, session: ort.InferenceSession, lone: ort.InferenceSession | None = None
    ) -> None:
        self._session = session
        self._lone = lone or session

    def logits(self, batch: Tensor, *, lone: bool = False) -> Tensor:
        inputs = {INPUT_NAME: np.ascontiguousarray(batch.numpy(), dtype=np.float32)}
        (logits,) = (self._lone if lone else self._session).run([OUTPUT_NAME], inputs)
        return torch.from_numpy(logits)


def runtime_copy(model: nn.Module, input_size: int, lone_threads: int = 1) -> RuntimeCopy | None:
    """``model`` (in eval mode) on ONNX Runtime with torch's thread count, and with
    ``lone_threads`` for lone passes where that is more, each checked against it; None, with
    the reason logged, when it cannot be exported or answers differently."""
    example = torch.zeros(1, 3, input_size, input_size)
    threads = torch.get_num_threads()
    try:
        exported = _exported(model, example)
        check = torch.rand(CHECK_BATCH, 3, input_size, input_size, generator=_seeded())
        sessions = [_checked_session(exported, threads, model, check)]
        if lone_threads > threads:
            sessions.append(_checked_session(exported, lone_threads, model, check))
    except Exception as exc:  # any failure leaves the torch model, which is always right
        logging.getLogger(__name__).warning("predicting with torch: no ONNX copy (%s)", exc)
        return None
    return RuntimeCopy(*sessions)


def _checked_session(
    exported: bytes, threads: int, model: nn.Module, check: Tensor
) -> ort.InferenceSession:
    session = ort.InferenceSession(exported, _options(threads), providers=["CPUExecutionProvider"])
    compare(model, session, check, "generated inputs")
    return session


def _exported(model: nn.Module, example: Tensor) -> bytes:
    buffer = io.BytesIO()
    # The tracer warns about shapes read as numbers (fixed here: one input size per model)
    # and that it is the older exporter; neither is news to the caller.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            buffer,  # type: ignore[arg-type]  # this exporter writes to a file object too
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}},
        )
    return buffer.getvalue()


def _options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def _seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)
