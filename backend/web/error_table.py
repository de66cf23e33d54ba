"""The one table from service exceptions to HTTP statuses, and the error bodies both web
layers answer with (the services know no HTTP; neither layer writes its own mapping)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.services.comparison import ComparisonError
from backend.services.dataset_library import DatasetInUse, StorageFull
from backend.services.evaluations import NoEvaluationError
from backend.services.exports import NoModelError
from backend.services.inference import ModelNotFoundError
from backend.services.micro_batch import OverloadedError
from backend.services.prediction_request import InvalidTopK, SampleNotFoundError
from backend.services.run_queue import QueueFullError, QueueUnavailableError
from backend.services.run_store import RunNotFoundError
from backend.services.runs import RunActiveError
from backend.services.sweeps import SweepNotFoundError
from backend.services.training import RunNotActiveError
from backend.services.uploads import (
    BodyTimeout,
    CannotDecode,
    MalformedUpload,
    NotAnImage,
    NotMultipart,
    UploadRejected,
    UploadTooLarge,
)
from backend.services.worker_pool import WorkerLost
from food_vision.config import ConfigError
from food_vision.datasets.archive import UnsafeArchiveError
from food_vision.datasets.managed import DatasetExists, DatasetNotFound, PhotoNotFound
from food_vision.datasets.naming import InvalidName
from food_vision.evaluation_data import EvaluationError
from food_vision.lineage import ParentUnusableError
from food_vision.onnx_export import ExportError

STATUSES: dict[type[Exception], int] = {
    UploadRejected: 400,
    MalformedUpload: 400,
    UploadTooLarge: 413,
    NotAnImage: 415,
    NotMultipart: 415,
    CannotDecode: 422,
    InvalidTopK: 422,
    ConfigError: 422,
    ModelNotFoundError: 404,
    SampleNotFoundError: 404,
    RunNotFoundError: 404,
    SweepNotFoundError: 404,
    QueueFullError: 409,
    QueueUnavailableError: 503,
    RunNotActiveError: 409,
    NoModelError: 409,
    ExportError: 422,
    ComparisonError: 422,
    EvaluationError: 422,
    NoEvaluationError: 404,
    RunActiveError: 409,
    ParentUnusableError: 409,
    OverloadedError: 503,
    WorkerLost: 503,
    BodyTimeout: 408,
    InvalidName: 422,
    UnsafeArchiveError: 422,
    DatasetNotFound: 404,
    PhotoNotFound: 404,
    DatasetExists: 409,
    DatasetInUse: 409,
    StorageFull: 507,
}
HANDLED = tuple(STATUSES)
RETRY_AFTER_SECONDS = "1"
SERVER_ERROR = 500


def status_for(exc: BaseException) -> int:
    """The status of the most specific class in the table; 500 for anything else."""
    for cls in type(exc).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return SERVER_ERROR


def error_body(exc: Exception) -> dict[str, Any]:
    """``{"detail": message}``, plus the run it concerns; a config error is shaped like a
    validation error, naming its field."""
    if isinstance(exc, ConfigError):
        return {"detail": [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]}
    body: dict[str, Any] = {"detail": str(exc)}
    run_id = getattr(exc, "run_id", None)
    if isinstance(run_id, str):
        body["run_id"] = run_id
    return body


def retry_headers(exc: Exception) -> dict[str, str]:
    """An overload or an unavailable queue says when to retry."""
    retry = isinstance(exc, OverloadedError | WorkerLost | QueueUnavailableError)
    return {"Retry-After": RETRY_AFTER_SECONDS} if retry else {}


def validation_detail(errors: Iterable[Mapping[str, Any]], prefix: tuple[str, ...] = ()) -> Any:
    """Each field and its message, as a 422's ``detail`` (the offending input not echoed)."""
    return [
        {
            "loc": [*prefix, *error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type"),
        }
        for error in errors
    ]
