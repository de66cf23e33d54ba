"""JSON API: health, runs, sweeps, architectures and models. Each view parses, makes one
call on the services' loop, and answers with the FastAPI layer's response models."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from backend.flask_web.bodies import json_body
from backend.flask_web.context import call, on_run, service_loop, services
from backend.flask_web.errors import BodyInvalid
from backend.services.sweeps import find_sweep, start_sweep
from backend.web import run_api
from backend.web.error_table import validation_detail
from backend.web.sweep_schemas import SweepIn, SweepOut
from food_vision.config import TrainConfig
from food_vision.models import ARCHITECTURES

api = Blueprint("api", __name__)
NO_CONTENT = ("", 204)
EXPORT_FORMATS = ("onnx",)


def answer(body: BaseModel | list[Any], status: int = 200) -> Response:
    """A response model (or a list of them) as JSON, as FastAPI serialises it."""
    items = body if isinstance(body, list) else [body]
    dumped = [
        item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in items
    ]
    data = dumped if isinstance(body, list) else dumped[0]
    response = jsonify(data)
    response.status_code = status
    return response


@api.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready once the services started; 503 before and while stopping."""
    if service_loop().ready:
        return jsonify({"status": "ready"}), 200
    return jsonify({"status": "starting"}), 503


@api.get("/metrics")
def metrics() -> Response:
    return Response(services().metrics.render(), content_type=CONTENT_TYPE_LATEST)


@api.get("/api/datasets")
def list_datasets() -> Response:
    return jsonify([info.to_dict() for info in call(services().datasets.list())])


@api.get("/api/architectures")
def list_architectures() -> Response:
    return jsonify([arch.to_dict() for arch in ARCHITECTURES.values()])


@api.get("/api/models")
def list_models() -> Response:
    return answer(call(run_api.list_models(services())))


@api.post("/api/runs")
def create_run() -> Response:
    return answer(call(run_api.start_run(services(), json_body(TrainConfig))), 201)


@api.get("/api/runs")
def list_runs() -> Response:
    return answer(call(run_api.list_runs(services())))


@api.get("/api/runs/<run_id>")
def get_run(run_id: str) -> Response:
    return answer(on_run(run_id, run_api.run_detail))


@api.post("/api/runs/<run_id>/cancel")
def cancel_run(run_id: str) -> Response:
    return answer(on_run(run_id, run_api.cancel_run), 202)


@api.post("/api/runs/<run_id>/stop")
def stop_run(run_id: str) -> Response:
    return answer(on_run(run_id, run_api.stop_run), 202)


@api.get("/api/runs/<run_id>/export")
def export_run(run_id: str) -> Response:
    """The verified ONNX export zip, built on first request."""
    if (chosen := request.args.get("format", "onnx")) not in EXPORT_FORMATS:
        raise BodyInvalid(
            validation_detail(
                [
                    {
                        "loc": ("format",),
                        "msg": f"unknown format {chosen[:20]!r}: use onnx",
                        "type": "literal_error",
                    }
                ],
                ("query",),
            )
        )
    path = on_run(run_id, lambda found, run: found.exports.onnx(run))
    return send_file(path, mimetype="application/zip", download_name=f"{run_id}-onnx.zip")


@api.delete("/api/runs/<run_id>")
def remove_run(run_id: str) -> tuple[str, int]:
    on_run(run_id, lambda found, run: found.runs.delete(run))
    return NO_CONTENT


@api.post("/api/sweeps")
def create_sweep() -> Response:
    body = json_body(SweepIn)
    return answer(SweepOut.of(call(start_sweep(services().runs, body.base, body.vary))), 201)


@api.get("/api/sweeps/<sweep_id>")
def get_sweep(sweep_id: str) -> Response:
    return answer(SweepOut.of(call(find_sweep(services().runs, sweep_id))))
