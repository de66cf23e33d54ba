"""Self-describing model bundles: ``model.safetensors`` plus ``meta.json``.

The metadata (architecture, class names, input size, normalisation, metrics) is enough to
rebuild the network and predict, and weights are read with safetensors, never with pickle.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SkipValidation,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass
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


def _finite(value: object) -> object:
    if not is_finite_number(value):
        raise ValueError("not a finite number")
    return value


def _distinct(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError("a name repeats")
    return names


# Each field's description is the rule a person reads when meta.json breaks it.
_ClassName = Annotated[StrictStr, Field(min_length=1)]
_Finite = Annotated[float, BeforeValidator(_finite)]
_Positive = Annotated[_Finite, Field(gt=0)]


@dataclass(frozen=True)
class ModelMeta:
    """What ``meta.json`` holds; refuses values of the wrong type or range before anything uses
    them, so a hand-edited or foreign file fails here, naming the field, not deep in torch."""

    architecture: Annotated[StrictStr, Field(description="a string")]
    classes: Annotated[
        list[_ClassName],
        Field(min_length=2, description="a list of at least two distinct, non-empty strings"),
        AfterValidator(_distinct),
    ]
    input_size: Annotated[
        StrictInt, Field(ge=8, le=4096, description="a whole number between 8 and 4096")
    ]
    mean: Annotated[
        list[_Finite], Field(min_length=3, max_length=3, description="a list of 3 numbers")
    ]
    std: Annotated[
        list[_Positive],
        Field(min_length=3, max_length=3, description="a list of 3 numbers above 0"),
    ]
    metrics: Annotated[dict[StrictStr, SkipValidation[float]], Field(description="an object")] = (
        field(default_factory=dict)
    )
    epoch: Annotated[StrictInt, Field(description="a whole number")] = 0
    dataset: Annotated[StrictStr, Field(description="a string")] = ""
    package_version: Annotated[StrictStr, Field(description="a string")] = __version__
    created: Annotated[StrictFloat, Field(description="a number")] = field(
        default_factory=time.time
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        try:
            return _READER.validate_python(data)
        except ValidationError as exc:
            raise BundleError(_explain(exc)) from None


_READER = TypeAdapter(ModelMeta)


def _explain(exc: ValidationError) -> str:
    """The first field that is wrong, and the rule it breaks, as its description states it."""
    error = exc.errors()[0]
    name = str(error["loc"][0])
    if error["type"] == "missing":
        return f"meta.json lacks a required field: {name!r}"
    rule = _READER.json_schema()["properties"][name]["description"]
    return f"meta.json: {name} must be {rule}"


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
