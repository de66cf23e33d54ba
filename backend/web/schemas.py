"""Request and response bodies of the JSON API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from food_vision.config import MAX_BATCH_SIZE, MAX_EPOCHS, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from food_vision.config import MAX_LEARNING_RATE as MAX_LR
from food_vision.models import DEFAULT_ARCHITECTURE
from food_vision.runs import RunRecord


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field("demo", min_length=1, max_length=200)
    architecture: str = Field(DEFAULT_ARCHITECTURE, min_length=1, max_length=100)
    epochs: int = Field(5, ge=1, le=MAX_EPOCHS)
    learning_rate: float = Field(1e-3, gt=0, le=MAX_LR, allow_inf_nan=False)
    batch_size: int = Field(32, ge=1, le=MAX_BATCH_SIZE)
    pretrained: bool | None = None
    image_size: int | None = Field(None, ge=MIN_IMAGE_SIZE, le=MAX_IMAGE_SIZE)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class RunOut(BaseModel):
    id: str
    status: str
    config: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    metrics: dict[str, float | None]
    error: str | None
    epoch: int
    step: int
    has_model: bool
    cancelling: bool = False

    @classmethod
    def of(cls, record: RunRecord, cancelling: bool = False) -> RunOut:
        data = record.to_dict()
        data.pop("pid", None)
        return cls(**data, cancelling=cancelling)


class EpochOut(BaseModel):
    epoch: int
    epochs: int
    train_loss: float | None
    train_acc: float | None
    test_loss: float | None
    test_acc: float | None
    seconds: float


class RunDetail(RunOut):
    history: list[EpochOut]


class ErrorOut(BaseModel):
    detail: str
    run_id: str | None = None


class ModelOut(BaseModel):
    id: str
    architecture: str
    dataset: str
    classes: list[str]
    test_acc: float | None
    epoch: int
    status: str
    created_at: float


class LabelProbability(BaseModel):
    label: str
    probability: float


class PredictionOut(BaseModel):
    model: str
    predictions: list[LabelProbability]
    latency_ms: float
