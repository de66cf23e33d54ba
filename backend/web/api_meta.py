"""Health, readiness, datasets, architectures and models."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from backend.web import run_api
from backend.web.deps import ServicesDep
from backend.web.schemas import ModelOut
from food_vision.models import ARCHITECTURES

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> JSONResponse:
    """Ready once the run store is prepared and the services started; 503 before and after."""
    services = getattr(request.app.state, "services", None)
    if services is not None and services.ready:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "starting"}, status_code=503)


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse)
async def metrics(services: ServicesDep) -> PlainTextResponse:
    """Prometheus text format."""
    body = await asyncio.to_thread(services.metrics.render)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/datasets", tags=["datasets"])
async def list_datasets(services: ServicesDep) -> list[dict[str, Any]]:
    return [info.to_dict() for info in await services.datasets.list()]


@router.get("/api/architectures", tags=["models"])
async def list_architectures() -> list[dict[str, Any]]:
    return [arch.to_dict() for arch in ARCHITECTURES.values()]


@router.get("/api/models", tags=["models"])
async def list_models(services: ServicesDep) -> list[ModelOut]:
    return await run_api.list_models(services)
