"""Object factories: model bundles, images, datasets and hostile files."""

from __future__ import annotations

import io
import pathlib
import pickle
import time
import zipfile
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from food_vision.bundle import ModelMeta, save_bundle
from food_vision.datasets.demo import generate_demo
from food_vision.models import get_architecture
from food_vision.runs import RunRecord, RunStatus, new_run_id, write_run

CLASSES = ["pizza", "steak", "sushi"]


def make_bundle(
    folder: Path,
    *,
    classes: list[str] | None = None,
    architecture: str = "tinyvgg",
    seed: int = 0,
    input_size: int | None = None,
    metrics: dict[str, float] | None = None,
    dataset: str = "demo",
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
        metrics={"test_acc": 0.5} if metrics is None else metrics,
        epoch=1,
        dataset=dataset,
    )
    save_bundle(model, meta, folder)
    return model, meta


def make_model_run(
    runs_dir: Path,
    *,
    seed: int = 0,
    status: RunStatus = RunStatus.COMPLETED,
    metrics: dict[str, float] | None = None,
    architecture: str = "tinyvgg",
) -> str:
    """A run in the store holding a (seeded, untrained) bundle; returns its id."""
    run_id = new_run_id()
    make_bundle(runs_dir / run_id, seed=seed, metrics=metrics, architecture=architecture)
    config = {"dataset": "demo", "architecture": architecture, "epochs": 1}
    write_run(runs_dir / run_id, RunRecord(run_id, status, config, has_model=True))
    time.sleep(0.01)  # distinct creation times: "newest" is well defined
    return run_id


def patterned_image(
    fmt: str = "PNG", size: tuple[int, int] = (48, 40), mode: str = "RGB", **params: object
) -> bytes:
    """A small image with some structure, encoded as ``fmt``."""
    colors: dict[str, int | tuple[int, ...]] = {
        "RGB": (200, 60, 30),
        "L": 128,
        "RGBA": (10, 200, 30, 128),
        "CMYK": (0, 80, 90, 10),
    }
    color = colors.get(mode, 100)
    image = Image.new(mode, size, color)
    for x in range(0, size[0], 4):
        image.putpixel((x, x % size[1]), (0, 0, 255) if mode == "RGB" else color)
    return image_bytes(image, fmt, **params)


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
