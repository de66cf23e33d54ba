"""The offline demo dataset: synthetic pizza / steak / sushi drawings, made deterministically.

``generate_demo(root)`` writes an ImageFolder tree::

    root/train/<class>/000.jpg ...   root/test/<class>/000.jpg ...
    root/samples/<class>_0.jpg ...   (extra images for the prediction panel, in neither split)
    root/.complete                   (JSON of the parameters, written last)

Each image is drawn from its own random generator, seeded by (seed, split, class, index), so
the bytes depend on nothing else: a tiny dataset is a prefix of a big one made with the same
seed, and two generations with one seed are identical. The tree is built in a hidden temporary
folder beside ``root`` and renamed into place, so a killed generation never leaves a half-made
``root``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from PIL import Image

from food_vision.atomic import atomic_dir
from food_vision.datasets.demo_render import (
    DEMO_CLASSES,
    FORMAT_VERSION,
    demo_image_rng,
    render_demo_image,
)
from food_vision.datasets.naming import SAMPLES_DIR

MARKER = ".complete"
JPEG_QUALITY = 90

_STALE_TEMP_SECONDS = 3600.0


def generate_demo(
    root: Path,
    *,
    seed: int = 0,
    train_per_class: int = 100,
    test_per_class: int = 30,
    size: int = 128,
    samples_per_class: int = 2,
) -> Path:
    """Make the demo dataset at ``root`` unless it is already complete there; return ``root``.

    Raises ``ValueError`` for bad arguments or when ``root`` holds a demo made with other
    parameters, and ``FileExistsError`` when ``root`` is a non-empty folder that is not a demo.
    """
    root = Path(root)
    params = _params(
        seed=seed,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        size=size,
        samples_per_class=samples_per_class,
    )
    if is_demo_complete(root):
        _check_marker(root, params)
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists but is not a complete demo dataset; remove it first")

    _remove_stale_temps(root)
    try:
        with atomic_dir(root) as tmp:
            _write_tree(tmp, params)
            (tmp / MARKER).write_text(json.dumps(params, sort_keys=True) + "\n", encoding="utf-8")
    except FileExistsError:
        if not is_demo_complete(root):  # someone else finished first: theirs is as good
            raise
        _check_marker(root, params)
    return root


def is_demo_complete(root: Path) -> bool:
    """True when ``root`` holds a finished demo tree (its marker file exists)."""
    return (Path(root) / MARKER).is_file()


def _params(**params: int) -> dict[str, int]:
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if params["seed"] < 0:
        raise ValueError(f"seed must be >= 0, got {params['seed']}")
    for name in ("train_per_class", "test_per_class"):
        if params[name] < 1:
            raise ValueError(f"{name} must be >= 1, got {params[name]}")
    if params["samples_per_class"] < 0:
        raise ValueError(f"samples_per_class must be >= 0, got {params['samples_per_class']}")
    if not 16 <= params["size"] <= 1024:
        raise ValueError(f"size must be between 16 and 1024, got {params['size']}")
    return {"version": FORMAT_VERSION, **params}


def _check_marker(root: Path, params: dict[str, int]) -> None:
    try:
        found = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if found != params:
        raise ValueError(
            f"{root} holds a demo dataset made with other parameters ({found} instead of "
            f"{params}); remove it to generate a new one"
        )


def _remove_stale_temps(root: Path) -> None:
    """Remove temporary trees that a killed generation left beside ``root`` long ago."""
    now = time.time()
    for leftover in root.parent.glob(f".{root.name}.tmp-*"):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _write_tree(tmp: Path, params: dict[str, int]) -> None:
    seed, size = params["seed"], params["size"]
    counts = {"train": params["train_per_class"], "test": params["test_per_class"]}
    for split, count in counts.items():
        width = max(3, len(str(count - 1)))
        for class_index, label in enumerate(DEMO_CLASSES):
            folder = tmp / split / label
            folder.mkdir(parents=True)
            for index in range(count):
                rng = demo_image_rng(seed, split, class_index, index)
                _save_jpeg(
                    render_demo_image(label, rng, size=size), folder / f"{index:0{width}d}.jpg"
                )
    samples = tmp / SAMPLES_DIR
    samples.mkdir()
    for class_index, label in enumerate(DEMO_CLASSES):
        for index in range(params["samples_per_class"]):
            rng = demo_image_rng(seed, SAMPLES_DIR, class_index, index)
            _save_jpeg(render_demo_image(label, rng, size=size), samples / f"{label}_{index}.jpg")


def _save_jpeg(image: Image.Image, path: Path) -> None:
    image.save(path, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
