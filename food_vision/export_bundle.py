"""The export zip of a run: ``model.onnx`` with everything needed to use it elsewhere.

Built once, verified before it is written, then kept in ``<run>/exports/``; a cached zip is
used only while it is intact and was made from the model file that is there now.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from food_vision import __version__, onnx_predict
from food_vision.atomic import atomic_write
from food_vision.bundle import META_FILE, WEIGHTS_FILE, load_bundle
from food_vision.onnx_export import INPUT_NAME, OUTPUT_NAME, export_onnx, verification_batch, verify

EXPORTS_DIR = "exports"
ONNX_ZIP = "onnx.zip"
VERIFICATION_FILE = "verification.json"
MEMBERS = (
    "model.onnx",
    "labels.json",
    "preprocessing.json",
    "predict.py",
    VERIFICATION_FILE,
    WEIGHTS_FILE,
    META_FILE,
)


def onnx_zip_path(folder: Path) -> Path:
    return folder / EXPORTS_DIR / ONNX_ZIP


def build_onnx_zip(folder: Path, data_dir: Path) -> Path:
    """Export the run's model, verify it, and write the zip atomically; returns its path.

    Raises ``BundleError`` for a missing or broken model, ``ExportError`` when the export does
    not match the original.
    """
    model, meta = load_bundle(folder)
    with tempfile.TemporaryDirectory(prefix="foodvision-export-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        export_onnx(model, meta, onnx_path)
        batch, source = verification_batch(meta, data_dir)
        verification = verify(model, onnx_path, batch, source).to_dict()
        verification.update(
            weights_sha256=_sha256(folder / WEIGHTS_FILE),
            created=time.time(),
            package_version=__version__,
        )
        preprocessing = {
            "input_name": INPUT_NAME,
            "output_name": OUTPUT_NAME,
            "layout": "NCHW",
            "input_size": meta.input_size,
            "resize": "shorter side to input_size, bilinear",
            "crop": "centre, input_size x input_size",
            "scale": "pixel values / 255",
            "mean": meta.mean,
            "std": meta.std,
        }
        texts = {
            "labels.json": _json(meta.classes),
            "preprocessing.json": _json(preprocessing),
            "predict.py": Path(onnx_predict.__file__).read_text(encoding="utf-8"),
            VERIFICATION_FILE: _json(verification),
        }
        files = {"model.onnx": onnx_path, WEIGHTS_FILE: folder / WEIGHTS_FILE}
        files[META_FILE] = folder / META_FILE
        target = onnx_zip_path(folder)
        atomic_write(target, lambda tmp_zip: _write_zip(tmp_zip, texts, files))
    return target


def cached_onnx_zip(folder: Path) -> Path | None:
    """The cached zip when it is whole and made from the current model file, else None."""
    verification = read_verification(folder)
    if verification is None:
        return None
    try:
        current = _sha256(folder / WEIGHTS_FILE)
    except OSError:
        return None
    return onnx_zip_path(folder) if verification.get("weights_sha256") == current else None


def read_verification(folder: Path) -> dict[str, Any] | None:
    """``verification.json`` of an intact cached zip (every member there, every CRC right)."""
    try:
        with zipfile.ZipFile(onnx_zip_path(folder)) as archive:
            if set(MEMBERS) - set(archive.namelist()) or archive.testzip() is not None:
                return None
            data = json.loads(archive.read(VERIFICATION_FILE))
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return None
    return data if isinstance(data, dict) else None


def _write_zip(path: Path, texts: dict[str, str], files: dict[str, Path]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in texts.items():
            archive.writestr(name, text)
        for name, source in files.items():
            archive.write(source, name)


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
