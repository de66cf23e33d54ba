"""Object factories: model bundles, images, datasets and hostile files."""

from __future__ import annotations

import io
import pathlib
import pickle
import zipfile
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from food_vision.bundle import ModelMeta, save_bundle
from food_vision.datasets.demo import generate_demo
from food_vision.models import get_architecture

CLASSES = ["pizza", "steak", "sushi"]


def make_bundle(
    folder: Path,
    *,
    classes: list[str] | None = None,
    architecture: str = "tinyvgg",
    seed: int = 0,
    input_size: int | None = None,
) -> tuple[nn.Module, ModelMeta]:
    """A randomly initialised (seeded) model saved as a bundle in ``folder``."""
    classes = list(classes or CLASSES)
    arch = get_architecture(architecture)
    torch.manual_seed(seed)
    model = arch.build(len(classes), pretrained=False).eval()
    meta = ModelMeta(
        architecture=arch.name,
        classes=classes,
        input_size=input_size or arch.input_size,
        mean=list(arch.mean),
        std=list(arch.std),
        metrics={"test_acc": 0.5},
        epoch=1,
        dataset="demo",
    )
    save_bundle(model, meta, folder)
    return model, meta


def make_dataset(root: Path, *, train: int = 8, test: int = 4, size: int = 64) -> Path:
    """A small demo-style ImageFolder dataset (pizza / steak / sushi) at ``root``."""
    return generate_demo(
        root, train_per_class=train, test_per_class=test, size=size, samples_per_class=1
    )


def image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def image_folder_zip(*, top: str = "", classes: tuple[str, ...] = ("pizza", "steak")) -> bytes:
    """A zip of an ImageFolder tree of tiny JPEGs, optionally inside one top-level folder."""
    jpeg = image_bytes(Image.new("RGB", (8, 8), (200, 80, 40)), "JPEG")
    prefix = f"{top}/" if top else ""
    return make_zip(
        {
            f"{prefix}{split}/{label}/{index}.jpg": jpeg
            for split in ("train", "test")
            for label in classes
            for index in range(2)
        }
    )


class _TouchOnUnpickle:
    """Unpickling this runs ``Path(marker).touch()``: the shape of a malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def malicious_pickle(marker: Path) -> bytes:
    """Plain pickle bytes whose unpickling creates ``marker``."""
    return pickle.dumps(_TouchOnUnpickle(marker))


def malicious_torch_checkpoint(path: Path, marker: Path) -> Path:
    """A ``torch.save`` file (zip format) whose unpickling with pickle creates ``marker``."""
    torch.save({"state_dict": _TouchOnUnpickle(marker)}, path)
    return path
