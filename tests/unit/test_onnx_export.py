"""ONNX export: every architecture round-trips, the check refuses a model that differs, the
cache notices damage, and the shipped predict.py needs nothing but onnxruntime, numpy, pillow."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from food_vision.datasets.demo import generate_demo
from food_vision.export_bundle import (
    MEMBERS,
    build_onnx_zip,
    cached_onnx_zip,
    onnx_zip_path,
    read_verification,
)
from food_vision.images import open_image
from food_vision.models import ARCHITECTURES
from food_vision.onnx_export import ExportError, export_onnx, verify
from food_vision.predict import Predictor
from tests.utils.factories import make_bundle, patterned_image

CLASSES = ["pizza", "steak", "sushi"]


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_architecture_exports_and_verifies(tmp_path: Path, architecture: str) -> None:
    model, meta = make_bundle(tmp_path / "run", architecture=architecture, dataset="gone")
    path = build_onnx_zip(tmp_path / "run", tmp_path / "data")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(MEMBERS)
        assert json.loads(archive.read("labels.json")) == meta.classes
        archive.extract("model.onnx", tmp_path)
    check = read_verification(tmp_path / "run")
    assert check is not None
    assert check["source"] == "generated inputs" and check["top1_agreement"] == 1.0
    assert check["max_abs_logit_difference"] <= 1e-3
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    for batch in (1, 5):  # the batch dimension is dynamic
        images = torch.randn(batch, 3, meta.input_size, meta.input_size)
        (logits,) = session.run(None, {"images": images.numpy()})
        with torch.inference_mode():
            expected = model(images).numpy()
        np.testing.assert_allclose(logits, expected, atol=1e-3)


def test_verification_uses_the_datasets_test_photos(tmp_path: Path) -> None:
    generate_demo(tmp_path / "data" / "tiny", train_per_class=2, test_per_class=3, size=64)
    make_bundle(tmp_path / "run", dataset="tiny")
    build_onnx_zip(tmp_path / "run", tmp_path / "data")
    check = read_verification(tmp_path / "run")
    assert check is not None
    assert (check["images"], check["source"]) == (9, "9 test photos of tiny")


def test_a_model_that_differs_from_its_export_is_refused(tmp_path: Path) -> None:
    original, meta = make_bundle(tmp_path / "a", seed=1)
    other, _ = make_bundle(tmp_path / "b", seed=2)
    export_onnx(original, meta, tmp_path / "a.onnx")
    batch = torch.randn(4, 3, meta.input_size, meta.input_size)
    assert verify(original, tmp_path / "a.onnx", batch, "noise").top1_agreement == 1.0
    with pytest.raises(ExportError, match="differs from the original on noise"):
        verify(other, tmp_path / "a.onnx", batch, "noise")


def test_the_cache_is_used_only_while_whole_and_current(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    make_bundle(folder, dataset="gone")
    assert cached_onnx_zip(folder) is None
    path = build_onnx_zip(folder, tmp_path / "data")
    assert cached_onnx_zip(folder) == path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut off mid-write
    assert cached_onnx_zip(folder) is None
    corrupt = bytearray(data)
    corrupt[len(data) // 3] ^= 0xFF  # one flipped byte inside a member
    path.write_bytes(bytes(corrupt))
    assert cached_onnx_zip(folder) is None
    path.write_bytes(data)
    assert cached_onnx_zip(folder) == path
    make_bundle(folder, seed=5, dataset="gone")  # the model changed: the export is stale
    assert cached_onnx_zip(folder) is None


def test_the_shipped_predict_py_needs_no_torch_and_agrees(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    make_bundle(folder, classes=CLASSES, dataset="gone")
    with zipfile.ZipFile(build_onnx_zip(folder, tmp_path / "data")) as archive:
        archive.extractall(tmp_path / "export")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(patterned_image("JPEG", size=(320, 240)))
    script = (
        "import json, runpy, sys\n"
        "sys.modules['torch'] = sys.modules['torchvision'] = None  # importing them fails\n"
        f"module = runpy.run_path({str(tmp_path / 'export' / 'predict.py')!r})\n"
        f"print(json.dumps(module['predict']([{str(photo)!r}], 3)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    (ranked,) = json.loads(result.stdout)
    (expected,) = Predictor.from_bundle(folder).predict([_open(photo)], top_k=3)
    assert [label for label, _ in ranked] == [p.label for p in expected]
    for (_, probability), prediction in zip(ranked, expected, strict=True):
        assert probability == pytest.approx(prediction.probability, abs=1e-3)
    printed = subprocess.run(
        [sys.executable, str(tmp_path / "export" / "predict.py"), str(photo), "--top-k", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines()[0] == str(photo)
    assert printed.stdout.splitlines()[1].split()[0] == expected[0].label


def _open(path: Path) -> Image.Image:
    return open_image(path)


def test_export_zip_is_written_where_the_run_keeps_it(tmp_path: Path) -> None:
    make_bundle(tmp_path / "run", dataset="gone")
    assert build_onnx_zip(tmp_path / "run", tmp_path / "data") == onnx_zip_path(tmp_path / "run")
    assert not list((tmp_path / "run" / "exports").glob(".*.tmp"))
