"""Error responses that always serialise: service errors get their HTTP status from one
table here (the services know no HTTP), and validation errors never echo non-JSON input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    CannotDecode,
    MalformedUpload,
    NotAnImage,
    NotMultipart,
    UploadRejected,
    UploadTooLarge,
)
from backend.services.worker_pool import WorkerLost
from backend.web.body_guard import BodyTimeout
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


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """The exception's body and status; an overload says when to retry."""
    retry = isinstance(exc, OverloadedError | WorkerLost | QueueUnavailableError)
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if retry else None
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)


def install(app: FastAPI) -> None:
    """Answer every exception class of the table with its status."""
    for cls in STATUSES:
        app.add_exception_handler(cls, service_error)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 listing each field and its message (the offending input is not echoed back)."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)
