"""Prediction over HTTP: the JSON API and the page's drop zone share one request reader."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from backend.services.container import Services
from backend.services.inference import PredictionResult
from backend.services.prediction_request import choose_model, listed_sample, parse_top_k
from backend.services.uploads import NotAnImage, check_size
from backend.web import render
from backend.web.choices import model_name
from backend.web.deps import ServicesDep
from backend.web.errors import HANDLED, status_for
from backend.web.predict_docs import PREDICT_BODY, PREDICT_ERRORS
from backend.web.schemas import PredictionOut
from backend.web.uploads import UploadForm, read_form

router = APIRouter()
log = logging.getLogger("foodvision.predict")


async def predict_from_form(request: Request, services: Services) -> PredictionResult:
    """The prediction, counted in the metrics; refusals are logged with their reason and
    raised again (their status comes from the error table)."""
    metrics = services.metrics
    try:
        result = await _predict(request, services)
    except HANDLED as exc:
        status = status_for(exc)
        metrics.predictions.labels(str(status)).inc()
        log.info("prediction refused: %s %s", status, exc)
        raise
    metrics.predictions.labels("ok").inc()
    metrics.prediction_latency.observe(result.latency_ms / 1000)
    return result


async def _predict(request: Request, services: Services) -> PredictionResult:
    max_bytes = services.settings.max_upload_bytes
    form = await read_form(request, max_bytes)
    top_k = parse_top_k(form.text("top_k"))
    model = await choose_model(services.runs, form.text("model"))
    data = await _image_bytes(form, services)
    check_size(len(data), max_bytes)
    return await services.inference.predict(model, data, top_k)


async def _image_bytes(form: UploadForm, services: Services) -> bytes:
    """The uploaded file, else the sample photo the page's button names."""
    if form.file is not None:
        return form.file[1]
    if sample_id := form.text("sample"):
        sample = await listed_sample(services.settings.resolved_data_dir, sample_id)
        return await asyncio.to_thread(sample.path.read_bytes)
    raise NotAnImage("no image: send it in the 'file' field")


@router.post(
    "/api/predict",
    tags=["predict"],
    openapi_extra=PREDICT_BODY,
    response_model=PredictionOut,
    responses=PREDICT_ERRORS,
)
async def predict_api(request: Request, services: ServicesDep) -> JSONResponse:
    """Top-k classes for one image: multipart `file`, optional `model` (run id) and `top_k`."""
    result = await predict_from_form(request, services)
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
    """The drop zone's request: the result partial naming the model as the picker does, or
    the error in plain words (status 200 so that htmx swaps it in)."""
    try:
        result = await predict_from_form(request, services)
    except HANDLED as exc:
        return HTMLResponse(render.render("prediction_result", result=None, error=str(exc)))
    model = await asyncio.to_thread(services.runs.usable_model, result.model)
    label = model_name(*model) if model is not None else f"run {result.model}"
    html = render.render("prediction_result", result=result, error=None, model_label=label)
    return HTMLResponse(html)


@router.get("/samples/{dataset}/{path:path}", include_in_schema=False)
async def sample_image(dataset: str, path: str, services: ServicesDep) -> FileResponse:
    sample = await listed_sample(services.settings.resolved_data_dir, f"{dataset}/{path}")
    return FileResponse(sample.path)
