"""A training run's configuration: every option once, with its default, limits and meaning.

The JSON API body, the page form, the ``foodvision train`` flags and the trainer's
``config.json`` are all derived from :class:`TrainConfig`; adding an option is one edit here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from food_vision.models import ARCHITECTURES, DEFAULT_ARCHITECTURE, get_architecture
from food_vision.tensorboard_log import require_tensorboard

MAX_SEED = 2**32 - 1


class ConfigError(ValueError):
    """A configuration value is wrong; ``field`` names the option, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CliFlag:
    """Marks an extra command-line spelling of an option (``--lr`` for ``--learning-rate``)."""

    def __init__(self, *flags: str) -> None:
        self.flags = flags


class Advanced:
    """Marks an option the page tucks under "More options"; the API and CLI list it like any."""


ADVANCED = Advanced()


def _not_bool(message: str) -> BeforeValidator:
    """JSON ``true`` is not the number 1 here."""

    def refuse(value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(message)
        return value

    return BeforeValidator(refuse)


Whole = _not_bool("must be a whole number")
Number = _not_bool("must be a number")


def _up_to(default: float, high: float, title: str, description: str) -> Any:
    """A finite number from 0 to ``high``."""
    return Field(default, ge=0, le=high, allow_inf_nan=False, title=title, description=description)


class TrainConfig(BaseModel):
    """Everything that decides what a run trains and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(
        "demo", min_length=1, max_length=200, title="Dataset", description="dataset name or folder"
    )
    architecture: Annotated[str, CliFlag("--model")] = Field(
        DEFAULT_ARCHITECTURE,
        min_length=1,
        max_length=100,
        title="Model",
        description=f"architecture: {', '.join(ARCHITECTURES)}",
    )
    epochs: Annotated[int, Whole] = Field(
        10, ge=1, le=500, title="Epochs", description="passes over the training set"
    )
    learning_rate: Annotated[float, Number, CliFlag("--lr")] = Field(
        3e-3,
        gt=0,
        le=10.0,
        allow_inf_nan=False,
        title="Learning rate",
        description="step size of the optimiser",
    )
    batch_size: Annotated[int, Whole] = Field(
        32, ge=1, le=1024, title="Batch size", description="images per step"
    )
    pretrained: bool | None = Field(
        None,
        title="Start from ImageNet weights (when the model has them)",
        description="start from ImageNet weights (default: when they need no download)",
    )
    image_size: Annotated[int | None, Whole] = Field(
        None, ge=32, le=1024, title="Image size", description="input pixels (default: the model's)"
    )
    seed: Annotated[int, Whole] = Field(
        0, ge=0, le=MAX_SEED, title="Seed", description="for shuffling and initialisation"
    )
    augment: bool = Field(
        True,
        title="Augment training images",
        description="random crops, flips and colour changes of the training images",
    )
    validation_fraction: Annotated[float, Number, ADVANCED] = _up_to(
        0.2,
        0.5,
        "Validation share",
        "share of each class's training images held out to pick the best epoch (0: none)",
    )
    patience: Annotated[int, Whole, ADVANCED] = Field(
        5,
        ge=0,
        le=500,
        title="Patience",
        description="epochs without a better validation accuracy before training stops (0: never)",
    )
    fine_tune_blocks: Annotated[int, Whole, ADVANCED] = Field(
        0,
        ge=0,
        le=100,
        title="Fine-tune blocks",
        description="unfreeze the last N blocks of the pretrained backbone; they learn at a "
        "tenth of the learning rate (0: train the new head only)",
    )
    feature_views: Annotated[int, Whole, ADVANCED] = Field(
        3,
        ge=1,
        le=16,
        title="Cached views",
        description="views of each training image whose frozen-backbone features are "
        "computed once when augmenting: the plain one, then augmented ones",
    )
    label_smoothing: Annotated[float, Number, ADVANCED] = _up_to(
        0.1, 0.5, "Label smoothing", "share of each target spread over the other classes"
    )
    weight_decay: Annotated[float, Number, ADVANCED] = _up_to(
        0.01, 1.0, "Weight decay", "AdamW's pull of the weights towards zero"
    )
    processes: Annotated[int, Whole, ADVANCED] = Field(
        1,
        ge=1,
        le=64,
        title="Processes",
        description="data-parallel training processes (torchrun), one per GPU or sharing the "
        "CPU cores; each takes a batch per step, so a step sees processes x batch size images",
    )
    dry_run: bool = Field(
        False, title="Quick check", description="one batch per epoch, to check a set-up fast"
    )
    tensorboard: bool | None = Field(
        None,
        title="TensorBoard scalars",
        description="write TensorBoard scalars into the run folder (default: the server's "
        "FOODVISION_TENSORBOARD setting)",
    )
    parent: str | None = Field(
        None,
        max_length=64,
        title="Continue run",
        description="id of a finished run to train more epochs from: its model and optimizer, "
        "dataset and architecture; epochs then counts the epochs added",
    )

    @field_validator("dataset")
    @classmethod
    def _dataset_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a dataset name or folder is required")
        return value.strip()

    @field_validator("architecture")
    @classmethod
    def _architecture_known(cls, value: str) -> str:
        return get_architecture(value).name

    @field_validator("pretrained")
    @classmethod
    def _weights_exist(cls, value: bool | None, info: Any) -> bool | None:
        arch = ARCHITECTURES.get(info.data.get("architecture", ""))
        if value and arch is not None and not arch.has_pretrained:
            raise ValueError(f"{arch.name} has no pretrained weights")
        return value

    @field_validator("tensorboard")
    @classmethod
    def _tensorboard_installed(cls, value: bool | None) -> bool | None:
        if value:
            require_tensorboard()
        return value

    @field_validator("fine_tune_blocks")
    @classmethod
    def _blocks_exist(cls, value: int, info: Any) -> int:
        arch = ARCHITECTURES.get(info.data.get("architecture", ""))
        if not value or arch is None:
            return value
        pretrained = info.data.get("pretrained")
        if not (arch.default_pretrained if pretrained is None else pretrained):
            raise ValueError("fine-tuning needs a pretrained model (every layer trains without)")
        if value > arch.blocks:
            raise ValueError(f"{arch.name} has {arch.blocks} blocks")
        return value

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> TrainConfig:
        """The config, or :class:`ConfigError` for the first wrong field, in plain words."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            field, message = next(iter(field_errors(exc).items()))
            raise ConfigError(field, message) from None

    def resolved(self) -> TrainConfig:
        """This config with the architecture's defaults filled in (pretrained, image size)."""
        arch = get_architecture(self.architecture)
        pretrained = arch.default_pretrained if self.pretrained is None else self.pretrained
        return self.model_copy(
            update={"pretrained": pretrained, "image_size": self.image_size or arch.input_size}
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One message a person understands per wrong field, keyed by the field's name."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "config"
        errors.setdefault(field, _message(error, TrainConfig.model_fields.get(field)))
    return errors


_PLAIN = {
    "int_parsing": "Enter a whole number.",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "Enter a number.",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_too_short": "must not be empty",
    "missing": "is required",
    "extra_forbidden": "is not a training option",
}
_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _message(error: ErrorDetails, field: FieldInfo | None) -> str:
    kind = error["type"]
    if kind in _RANGE and field is not None:
        return _range_text(field)
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "string_too_long":
        return f"must be at most {error.get('ctx', {}).get('max_length')} characters"
    return _PLAIN.get(kind, error["msg"])


def is_advanced(field: FieldInfo) -> bool:
    return any(isinstance(item, Advanced) for item in field.metadata)


def bounds(field: FieldInfo) -> dict[str, float]:
    """The numeric limits declared on a field (``ge``, ``gt``, ``le``, ``lt``), for forms."""
    found: dict[str, float] = {}
    for item in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def _range_text(field: FieldInfo) -> str:
    limits = bounds(field)
    if "ge" in limits and "le" in limits:
        return f"must be between {limits['ge']} and {limits['le']}"
    if "gt" in limits and "le" in limits:
        return f"must be above {limits['gt']} and at most {limits['le']}"
    return "is out of range"


def value_type(field: FieldInfo) -> type:
    """The plain type of a field's values (``int`` for ``int | None``), for flags and forms."""
    annotation = field.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (annotation,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation if isinstance(annotation, type) else str
