"""Prediction over HTTP: the JSON API and the page's drop zone share one request reader."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.types import Message

from backend.services.container import Services
from backend.services.inference import ModelNotFoundError, OverloadedError, PredictionResult
from backend.services.samples import find_sample
from backend.services.uploads import NotAnImage, UploadRejected, check_size
from backend.web import render
from backend.web.deps import ServicesDep
from backend.web.schemas import ErrorOut, PredictionOut
from food_vision.runs import is_valid_run_id

router = APIRouter()
log = logging.getLogger("foodvision.predict")
MULTIPART_OVERHEAD = 64 * 1024
MAX_TOP_K = 20
RETRY_AFTER_SECONDS = "1"

PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "model": {"type": "string", "description": "run id; default newest"},
                        "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K},
                    },
                }
            }
        },
    }
}


class BadRequest(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


ERRORS = (BadRequest, UploadRejected, ModelNotFoundError, OverloadedError)


def _limited(
    receive: Callable[[], Awaitable[Message]], max_bytes: int
) -> Callable[[], Awaitable[Message]]:
    """``receive`` that stops a body growing past the limit, with a Content-Length or not."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            check_size(seen - MULTIPART_OVERHEAD, max_bytes)
        return message

    return receive_limited


async def read_form(request: Request, max_bytes: int) -> FormData:
    """The multipart form, refused as soon as it is known to be too large or malformed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_size(int(declared) - MULTIPART_OVERHEAD, max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest(415, "send the image as multipart/form-data with a 'file' field")
    limited = Request(request.scope, _limited(request.receive, max_bytes))
    try:
        return await limited.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    except MultiPartException as exc:
        raise BadRequest(400, f"malformed upload: {exc}") from None


def parse_top_k(value: Any) -> int:
    text = "3" if value in (None, "") else str(value)
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP_K:
        raise BadRequest(422, f"top_k must be a whole number from 1 to {MAX_TOP_K}")
    return int(text)


async def pick_model(services: Services, value: Any) -> str:
    """The requested run id, or the newest usable model when none is named."""
    if value not in (None, ""):
        model = str(value)
        if not is_valid_run_id(model):
            raise ModelNotFoundError(f"no trained model {model[:80]!r}")
        return model
    models = await asyncio.to_thread(services.runs.usable_models)
    if not models:
        raise ModelNotFoundError("no trained model yet: train one first")
    return models[0][0].id


async def predict_from_form(request: Request, services: Services) -> PredictionResult:
    """The prediction, counted in the metrics; refusals are logged with their reason.

    Raises BadRequest, UploadRejected, ModelNotFoundError or OverloadedError.
    """
    metrics = services.metrics
    try:
        result = await _predict(request, services)
    except ERRORS as exc:
        status, message = _failure(exc)
        metrics.predictions.labels(str(status)).inc()
        log.info("prediction refused: %s %s", status, message)
        raise
    metrics.predictions.labels("ok").inc()
    metrics.prediction_latency.observe(result.latency_ms / 1000)
    return result


async def _predict(request: Request, services: Services) -> PredictionResult:
    settings = services.settings
    form = await read_form(request, settings.max_upload_bytes)
    try:
        top_k = parse_top_k(form.get("top_k"))
        model = await pick_model(services, form.get("model"))
        data = await _image_bytes(form, services)
    finally:
        await form.close()
    check_size(len(data), settings.max_upload_bytes)
    return await services.inference.predict(model, data, top_k)


async def _image_bytes(form: FormData, services: Services) -> bytes:
    upload, sample_id = form.get("file"), form.get("sample")
    if isinstance(upload, UploadFile):
        return await upload.read(services.settings.max_upload_bytes + 1)
    if isinstance(sample_id, str) and sample_id:
        sample = await asyncio.to_thread(
            find_sample, services.settings.resolved_data_dir, sample_id
        )
        if sample is None:
            raise BadRequest(404, f"no sample {sample_id[:80]!r}")
        return await asyncio.to_thread(sample.path.read_bytes)
    raise NotAnImage("no image: send it in the 'file' field")


def _failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ModelNotFoundError):
        return 404, str(exc)
    if isinstance(exc, UploadRejected | BadRequest):
        return exc.status, str(exc)
    return 503, str(exc)


PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "malformed multipart body"),
        (404, "no such model, or no model trained yet"),
        (413, "upload or image too large"),
        (415, "not an accepted image format"),
        (422, "corrupt image or bad top_k"),
        (503, "too many predictions waiting; see Retry-After"),
    )
}


@router.post(
    "/api/predict",
    tags=["predict"],
    openapi_extra=PREDICT_BODY,
    response_model=PredictionOut,
    responses=PREDICT_ERRORS,
)
async def predict_api(request: Request, services: ServicesDep) -> JSONResponse:
    """Top-k classes for one image: multipart `file`, optional `model` (run id) and `top_k`."""
    try:
        result = await predict_from_form(request, services)
    except ERRORS as exc:
        status, message = _failure(exc)
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return JSONResponse(
        {
            "model": result.model,
            "predictions": [
                {"label": p.label, "probability": p.probability} for p in result.predictions
            ],
            "latency_ms": result.latency_ms,
        }
    )


@router.post("/predict", include_in_schema=False)
async def predict_page(request: Request, services: ServicesDep) -> HTMLResponse:
    """The drop zone's request: the result partial, or the error in plain words (status 200
    so that htmx swaps it in)."""
    try:
        result = await predict_from_form(request, services)
    except ERRORS as exc:
        return HTMLResponse(render.render("prediction_result", result=None, error=str(exc)))
    return HTMLResponse(render.render("prediction_result", result=result, error=None))


@router.get("/samples/{dataset}/{path:path}", include_in_schema=False)
async def sample_image(dataset: str, path: str, services: ServicesDep) -> Response:
    sample = await asyncio.to_thread(
        find_sample, services.settings.resolved_data_dir, f"{dataset}/{path}"
    )
    if sample is None:
        return JSONResponse({"detail": "no such sample"}, status_code=404)
    return FileResponse(sample.path)
