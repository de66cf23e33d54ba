"""A training run's configuration, validated before any heavy work starts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from food_vision.models import get_architecture

MAX_EPOCHS = 500
MAX_BATCH_SIZE = 1024
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024
MAX_LEARNING_RATE = 10.0


class ConfigError(ValueError):
    """A configuration value is out of range; ``field`` names the offending option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TrainConfig:
    dataset: str
    architecture: str
    epochs: int = 5
    learning_rate: float = 1e-3
    batch_size: int = 32
    pretrained: bool | None = None
    image_size: int | None = None
    seed: int = 0
    dry_run: bool = False

    def validated(self) -> TrainConfig:
        """This config with defaults resolved; raises :class:`ConfigError` for a bad value."""
        if not self.dataset or not self.dataset.strip():
            raise ConfigError("dataset", "a dataset name or folder is required")
        try:
            arch = get_architecture(self.architecture)
        except ValueError as exc:
            raise ConfigError("architecture", str(exc)) from None
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _check_int("seed", self.seed, 0, 2**32 - 1)
        if self.image_size is not None:
            _check_int("image_size", self.image_size, MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
            raise ConfigError("learning_rate", "must be a finite number")
        if not 0 < lr <= MAX_LEARNING_RATE:
            raise ConfigError("learning_rate", f"must be above 0 and at most {MAX_LEARNING_RATE}")
        pretrained = arch.default_pretrained if self.pretrained is None else self.pretrained
        if pretrained and not arch.has_pretrained:
            raise ConfigError("pretrained", f"{arch.name} has no pretrained weights")
        return TrainConfig(
            dataset=self.dataset.strip(),
            architecture=arch.name,
            epochs=self.epochs,
            learning_rate=float(lr),
            batch_size=self.batch_size,
            pretrained=pretrained,
            image_size=self.image_size or arch.input_size,
            seed=self.seed,
            dry_run=self.dry_run,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, "must be a whole number")
    if not low <= value <= high:
        raise ConfigError(field, f"must be between {low} and {high}")
