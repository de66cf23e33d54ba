"""Prediction: the JSON API, the page's drop zone and the sample photos, over the same
request reader as the FastAPI layer (``backend.web.prediction``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, send_file

from backend.flask_web.bodies import request_body
from backend.flask_web.context import call, services
from backend.services.prediction_request import listed_sample
from backend.web.prediction import predict_from_body, prediction_html, prediction_json

predict = Blueprint("predict", __name__)


@predict.post("/api/predict")
def predict_api() -> Response:
    """Top-k classes for one image: multipart ``file``, optional ``model`` and ``top_k``."""
    return jsonify(prediction_json(call(predict_from_body(request_body(), services()))))


@predict.post("/predict")
def predict_page() -> str:
    """The result partial, or the error in plain words (200, so that htmx swaps it in)."""
    return call(prediction_html(request_body(), services()))


@predict.get("/samples/<dataset>/<path:path>")
def sample_image(dataset: str, path: str) -> Response:
    found = services()
    return send_file(
        call(listed_sample(found.settings.resolved_data_dir, f"{dataset}/{path}")).path
    )
