"""Prediction as both web layers serve it: the form read, the model chosen, the refusals
counted and logged, and the answer's JSON and page wording."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from backend.services.container import Services
from backend.services.form_stream import Body
from backend.services.inference import PredictionResult
from backend.services.prediction_request import choose_model, listed_sample, parse_top_k
from backend.services.upload_form import UploadForm, read_form
from backend.services.uploads import NotAnImage, check_size
from backend.web import render
from backend.web.choices import model_name
from backend.web.error_table import HANDLED, status_for

log = logging.getLogger("foodvision.predict")


async def predict_from_body(body: Body, services: Services) -> PredictionResult:
    """The prediction, counted in the metrics; refusals are logged with their reason and
    raised again (their status comes from the error table)."""
    metrics = services.metrics
    try:
        result = await _predict(body, services)
    except HANDLED as exc:
        status = status_for(exc)
        metrics.predictions.labels(str(status)).inc()
        log.info("prediction refused: %s %s", status, exc)
        raise
    metrics.predictions.labels("ok").inc()
    metrics.prediction_latency.observe(result.latency_ms / 1000)
    return result


async def _predict(body: Body, services: Services) -> PredictionResult:
    max_bytes = services.settings.max_upload_bytes
    form = await read_form(body, max_bytes)
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


def prediction_json(result: PredictionResult) -> dict[str, Any]:
    """The JSON API's answer (``PredictionOut``)."""
    return {
        "model": result.model,
        "predictions": [
            {"label": p.label, "probability": p.probability} for p in result.predictions
        ],
        "latency_ms": result.latency_ms,
    }


async def model_label(services: Services, run_id: str) -> str:
    """The model named as the page's picker names it."""
    model = await asyncio.to_thread(services.runs.usable_model, run_id)
    return model_name(*model) if model is not None else f"run {run_id}"


async def prediction_html(body: Body, services: Services) -> str:
    """The drop zone's answer: the result partial naming the model as the picker does, or
    the refusal in plain words."""
    try:
        result = await predict_from_body(body, services)
    except HANDLED as exc:
        return render.render("prediction_result", result=None, error=str(exc))
    label = await model_label(services, result.model)
    return render.render("prediction_result", result=result, error=None, model_label=label)
