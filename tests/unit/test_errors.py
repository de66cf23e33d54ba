"""The one table from service exceptions to HTTP statuses, and the JSON answer it gives."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.services import uploads
from backend.services.inference import ModelNotFoundError
from backend.services.micro_batch import OverloadedError
from backend.services.prediction_request import InvalidTopK, SampleNotFoundError
from backend.services.run_queue import QueueFullError, QueueUnavailableError
from backend.services.run_store import RunNotFoundError
from backend.services.training import RunNotActiveError
from backend.web import errors
from backend.web.error_table import status_for
from food_vision.config import ConfigError


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (uploads.UploadRejected("refused"), 400),
        (uploads.MalformedUpload("malformed upload"), 400),
        (uploads.UploadTooLarge("too large"), 413),
        (uploads.NotAnImage("not an image"), 415),
        (uploads.NotMultipart("not multipart"), 415),
        (uploads.CannotDecode("corrupt"), 422),
        (InvalidTopK("top_k"), 422),
        (ConfigError("epochs", "must be between 1 and 500"), 422),
        (ModelNotFoundError("no model"), 404),
        (SampleNotFoundError("no sample"), 404),
        (RunNotFoundError("run-1"), 404),
        (QueueFullError(20), 409),
        (QueueUnavailableError(OSError("gone")), 503),
        (RunNotActiveError("run-1"), 409),
        (OverloadedError("retry"), 503),
    ],
)
def test_every_service_error_has_its_status(exc, status):
    assert status_for(exc) == status


def test_a_subclass_takes_its_nearest_listed_class():
    class Truncated(uploads.CannotDecode):
        pass

    assert status_for(Truncated("cut off")) == 422


@pytest.mark.parametrize("exc", [ValueError("x"), RuntimeError("x"), LookupError("x"), KeyError()])
def test_anything_else_is_a_server_error(exc):
    assert status_for(exc) == 500


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


def test_installed_handler_answers_detail_with_the_status():
    with TestClient(app_raising(RunNotActiveError("run-1"))) as client:
        response = client.get("/boom")
    assert response.status_code == 409
    assert response.json() == {"detail": str(RunNotActiveError("run-1")), "run_id": "run-1"}
    assert "retry-after" not in response.headers


def test_a_config_error_is_shaped_like_a_validation_error():
    with TestClient(app_raising(ConfigError("dataset", "unknown dataset 'x'"))) as client:
        response = client.get("/boom")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"loc": ["body", "dataset"], "msg": "unknown dataset 'x'", "type": "value_error"}
        ]
    }


def test_an_overload_says_when_to_retry():
    with TestClient(app_raising(OverloadedError("retry in a moment"))) as client:
        response = client.get("/boom")
    assert response.status_code == 503
    assert response.json() == {"detail": "retry in a moment"}
    assert response.headers["retry-after"] == "1"
