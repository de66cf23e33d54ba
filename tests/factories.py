"""Objects the server tests need: a run folder holding a real (small) model bundle."""

from __future__ import annotations

import io
import time
from pathlib import Path

import torch
from PIL import Image

from food_vision.bundle import ModelMeta, save_bundle
from food_vision.models import get_architecture
from food_vision.runs import RunRecord, RunStatus, new_run_id, write_run

CLASSES = ["pizza", "steak", "sushi"]


def make_model_run(
    runs_dir: Path,
    *,
    seed: int = 0,
    status: RunStatus = RunStatus.COMPLETED,
    metrics: dict[str, float] | None = None,
) -> str:
    """A finished run with a randomly initialised tinyvgg bundle; returns its id."""
    torch.manual_seed(seed)
    arch = get_architecture("tinyvgg")
    model = arch.build(len(CLASSES), pretrained=False).eval()
    run_id = new_run_id()
    folder = runs_dir / run_id
    meta = ModelMeta(
        architecture=arch.name,
        classes=CLASSES,
        input_size=arch.input_size,
        mean=list(arch.mean),
        std=list(arch.std),
        metrics={"test_acc": 0.5} if metrics is None else metrics,
        epoch=1,
        dataset="demo",
    )
    save_bundle(model, meta, folder)
    config = {"dataset": "demo", "architecture": "tinyvgg", "epochs": 1}
    record = RunRecord(run_id, status, config, created_at=time.time(), has_model=True)
    write_run(folder, record)
    time.sleep(0.01)
    return run_id


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (48, 40), mode: str = "RGB", **save
) -> bytes:
    color = {"RGB": (200, 60, 30), "L": 128, "RGBA": (10, 200, 30, 128), "CMYK": (0, 80, 90, 10)}
    image = Image.new(mode, size, color.get(mode, 100))
    for x in range(0, size[0], 4):
        image.putpixel((x, x % size[1]), color.get(mode, 100) if mode != "RGB" else (0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()
