"""ONNX export of the default model: how long the export (with its verification) takes, and
onnxruntime's images/s against torch eager on the same preprocessed images and thread count.

(a) onnxruntime images/s / torch eager images/s, batches of 16 (and 1), EfficientNet-Lite0 at
    224 px with the ImageNet weights it ships, ``THREADS`` threads for both.
(b) the export zip's build time (torch.export → ONNX, verification on generated inputs) /
    one torch forward pass over the verification batch, for scale.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import bench_main, log
from bench.table import Row
from food_vision.bundle import ModelMeta, save_bundle
from food_vision.export_bundle import build_onnx_zip
from food_vision.models import get_architecture
from food_vision.onnx_export import export_onnx

THREADS = 1
ARCH = "efficientnet_lite0"


def images_per_second(
    call: Callable[[torch.Tensor], object], batch: torch.Tensor, seconds: float
) -> float:
    """Repeat ``call(batch)`` for about ``seconds`` after one warm-up call."""
    call(batch)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call(batch)
        done += len(batch)
    return done / (time.perf_counter() - started)


def run(quick: bool) -> list[Row]:
    torch.set_num_threads(THREADS)
    arch = get_architecture(ARCH)
    model = arch.build(5, pretrained=True).eval()
    meta = ModelMeta(
        architecture=ARCH,
        classes=[f"class{i}" for i in range(5)],
        input_size=arch.input_size,
        mean=list(arch.mean),
        std=list(arch.std),
        dataset="(none: generated inputs)",
    )
    seconds = 3.0 if quick else 10.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="fv-bench-export-") as tmp:
        folder = Path(tmp) / "run"
        save_bundle(model, meta, folder)
        started = time.perf_counter()
        build_onnx_zip(folder, Path(tmp) / "data")
        build_seconds = time.perf_counter() - started
        log(f"export zip built in {build_seconds:.1f} s")
        export_onnx(model, meta, Path(tmp) / "model.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = THREADS
        session = ort.InferenceSession(str(Path(tmp) / "model.onnx"), options)
        for size in (16, 1):
            batch = torch.randn(size, 3, arch.input_size, arch.input_size)

            def onnx(images: torch.Tensor) -> object:
                return session.run(None, {"images": images.numpy()})

            def eager(images: torch.Tensor) -> object:
                with torch.inference_mode():
                    return model(images)

            ours = images_per_second(onnx, batch, seconds)
            base = images_per_second(eager, batch, seconds)
            log(f"batch {size}: onnxruntime {ours:.1f} img/s, torch {base:.1f} img/s")
            metric = f"onnxruntime images/s, batch {size}"
            rows.append(Row.of(metric, ours, base, "img/s", "torch eager"))
        forward = _forward_seconds(model, arch.input_size)
        note = "one forward of 16"
        rows.append(Row.of("export + verification time", build_seconds, forward, "s", note))
    return rows


def _forward_seconds(model: torch.nn.Module, size: int) -> float:
    batch = torch.randn(16, 3, size, size)
    with torch.inference_mode():
        model(batch)
        started = time.perf_counter()
        model(batch)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(bench_main("ONNX export of the default model", run))
