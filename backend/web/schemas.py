"""Request and response bodies of the JSON API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backend.services.run_view import RunView
from food_vision.numbers import finite_or_none
from food_vision.runs import RunRecord


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
    best_epoch: int = 0
    cancelling: bool = False
    stopping: bool = False  # stop and keep asked: it ends after the epoch under way
    stopped_early: bool = False
    sweep: str | None = None
    parent: str | None = None  # the run it continues
    position: int | None = None  # while queued: 1 = next, 0 = a worker is starting it

    @classmethod
    def of(
        cls,
        record: RunRecord,
        cancelling: bool = False,
        position: int | None = None,
        *,
        stopping: bool = False,
    ) -> RunOut:
        data = record.to_dict()
        data.pop("pid", None)
        data.pop("job_id", None)
        return cls(**data, cancelling=cancelling, position=position, stopping=stopping)


class EpochOut(BaseModel):
    """One epoch: train figures, and validation ones when the run held a split out. The test
    split is evaluated once, at the end (the run's ``metrics``); ``test_*`` here are only set
    for runs recorded before there was a validation split."""

    epoch: int
    epochs: int
    run_id: str  # the run that trained it
    inherited: bool = False  # trained by a run this one continues
    train_loss: float | None
    train_acc: float | None
    validation_loss: float | None = None
    validation_acc: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    seconds: float


class RunDetail(RunOut):
    history: list[EpochOut]

    @classmethod
    def of_view(cls, view: RunView, position: int | None = None) -> RunDetail:
        """The run with its epoch history (non-finite figures as null)."""
        history = [
            EpochOut(**finite_or_none(e.to_dict()), inherited=e.run_id != view.id)
            for e in view.history
        ]
        run = RunOut.of(view.record, view.cancelling, position)
        return cls(**run.model_dump(), history=history)


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
