"""Self-describing model bundles: ``model.safetensors`` plus ``meta.json``.

The metadata (architecture, class names, input size, normalisation, metrics) is enough to
rebuild the network and predict, and weights are read with safetensors, never with pickle.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from food_vision import __version__
from food_vision.atomic import atomic_write_bytes, atomic_write_json
from food_vision.models import get_architecture
from food_vision.numbers import is_finite_number

WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"


class BundleError(ValueError):
    """A bundle is missing, unreadable or inconsistent; the message says which."""


@dataclass(frozen=True)
class ModelMeta:
    architecture: str
    classes: list[str]
    input_size: int
    mean: list[float]
    std: list[float]
    metrics: dict[str, float] = field(default_factory=dict)
    epoch: int = 0
    dataset: str = ""
    package_version: str = __version__
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        try:
            meta = cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
        except TypeError as exc:
            raise BundleError(f"meta.json lacks a required field: {exc}") from None
        _check_meta(meta)
        return meta


def _check_meta(meta: ModelMeta) -> None:
    """Refuse values of the wrong type or range, naming the field, before anything uses them."""
    if not isinstance(meta.architecture, str):
        raise BundleError("meta.json: architecture must be a string")
    classes = meta.classes
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise BundleError("meta.json: classes must be a list of non-empty strings")
    if len(classes) < 2:
        raise BundleError("meta.json: classes must list at least two classes")
    if len(set(classes)) != len(classes):
        raise BundleError("meta.json: classes must not repeat a name")
    size = meta.input_size
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 4096:
        raise BundleError("meta.json: input_size must be a whole number between 8 and 4096")
    for name, values, low in (("mean", meta.mean, -math.inf), ("std", meta.std, 0.0)):
        if (
            not isinstance(values, list)
            or len(values) != 3
            or not all(is_finite_number(v) and v > low for v in values)
        ):
            bound = "numbers above 0" if low == 0.0 else "numbers"
            raise BundleError(f"meta.json: {name} must be a list of 3 {bound}")
    if not isinstance(meta.metrics, dict):
        raise BundleError("meta.json: metrics must be an object")


def has_bundle(folder: Path) -> bool:
    return (folder / WEIGHTS_FILE).is_file() and (folder / META_FILE).is_file()


def save_bundle(model: nn.Module, meta: ModelMeta, folder: Path) -> None:
    """Write weights, then metadata, each atomically: a reader never sees half a file."""
    state = {key: tensor.detach().cpu().contiguous() for key, tensor in model.state_dict().items()}
    # Serialised in memory, written by Python: a full disk is an OSError naming the file.
    atomic_write_bytes(folder / WEIGHTS_FILE, save(state))
    atomic_write_json(folder / META_FILE, meta.to_dict())


def read_meta(folder: Path) -> ModelMeta:
    path = folder / META_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"no model in {folder}: {META_FILE} is missing") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path} is not a JSON object")
    return ModelMeta.from_dict(data)


def load_bundle(folder: Path) -> tuple[nn.Module, ModelMeta]:
    """Rebuild the network from ``meta.json`` and load its weights strictly, in eval mode."""
    meta = read_meta(folder)
    try:
        arch = get_architecture(meta.architecture)
    except ValueError as exc:
        raise BundleError(str(exc)) from None
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except FileNotFoundError:
        raise BundleError(f"no model in {folder}: {WEIGHTS_FILE} is missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{WEIGHTS_FILE} in {folder} is not a valid safetensors file") from exc
    model = arch.build(len(meta.classes), pretrained=False)
    expected = model.state_dict()
    head = next(reversed(expected))
    if head in state and state[head].shape != expected[head].shape:
        raise BundleError(
            f"the model's head has {state[head].shape[0]} outputs but meta.json lists "
            f"{len(meta.classes)} classes"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise BundleError(f"weights do not match {meta.architecture}: {first}") from None
    model.eval()
    return model, meta
