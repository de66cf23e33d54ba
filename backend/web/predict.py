"""Prediction over HTTP: the JSON API and the page's drop zone share one request reader."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from backend.services.prediction_request import listed_sample
from backend.web.deps import ServicesDep
from backend.web.predict_docs import PREDICT_BODY, PREDICT_ERRORS
from backend.web.prediction import predict_from_body, prediction_html, prediction_json
from backend.web.schemas import PredictionOut
from backend.web.uploads import request_body

router = APIRouter()


@router.post(
    "/api/predict",
    tags=["predict"],
    openapi_extra=PREDICT_BODY,
    response_model=PredictionOut,
    responses=PREDICT_ERRORS,
)
async def predict_api(request: Request, services: ServicesDep) -> JSONResponse:
    """Top-k classes for one image: multipart `file`, optional `model` (run id) and `top_k`."""
    result = await predict_from_body(request_body(request), services)
    return JSONResponse(prediction_json(result))


@router.post("/predict", include_in_schema=False)
async def predict_page(request: Request, services: ServicesDep) -> HTMLResponse:
    """The drop zone's request: the result partial naming the model as the picker does, or
    the error in plain words (status 200 so that htmx swaps it in)."""
    return HTMLResponse(await prediction_html(request_body(request), services))


@router.get("/samples/{dataset}/{path:path}", include_in_schema=False)
async def sample_image(dataset: str, path: str, services: ServicesDep) -> FileResponse:
    sample = await listed_sample(services.settings.resolved_data_dir, f"{dataset}/{path}")
    return FileResponse(sample.path)
