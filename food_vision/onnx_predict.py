"""Top classes for photos with an exported FoodVision model; needs only onnxruntime, numpy and
pillow. This file ships as ``predict.py`` in every ONNX export, next to the files it reads:

    python predict.py photo.jpg [more.jpg ...] [--top-k 3]

The preprocessing repeats the trainer's evaluation transform exactly: shorter side resized to
the input size (bilinear), centre crop, scaled to 0..1, normalised with the saved mean and std.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent


def preprocess(image: Image.Image, spec: dict[str, Any]) -> np.ndarray:
    """One photo as a normalised CHW float32 array."""
    size = int(spec["input_size"])
    image = (ImageOps.exif_transpose(image) or image).convert("RGB")
    width, height = image.size
    if width <= height:
        new_size = (size, int(size * height / width))
    else:
        new_size = (int(size * width / height), size)
    image = image.resize(new_size, Image.Resampling.BILINEAR)
    left = round((new_size[0] - size) / 2.0)
    top = round((new_size[1] - size) / 2.0)
    image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


def predict(
    paths: list[Path], top_k: int = 3, folder: Path = HERE
) -> list[list[tuple[str, float]]]:
    """``(label, probability)`` pairs, most likely first, for each photo."""
    labels: list[str] = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    spec = json.loads((folder / "preprocessing.json").read_text(encoding="utf-8"))
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    batch = np.stack([preprocess(Image.open(path), spec) for path in paths])
    (logits,) = session.run(None, {spec["input_name"]: batch})
    results = []
    for row in softmax(logits):
        best = np.argsort(-row)[: max(1, min(top_k, len(labels)))]
        results.append([(labels[i], float(row[i])) for i in best])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Top classes for photos.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()
    for path, ranked in zip(args.images, predict(args.images, args.top_k), strict=True):
        print(path)
        for label, probability in ranked:
            print(f"  {label:<20} {probability:7.2%}")


if __name__ == "__main__":
    main()
