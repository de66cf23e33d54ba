"""The FastAPI application: built by ``create_app``, services created in its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from backend.services.container import Services
from backend.web import (
    api_datasets,
    api_meta,
    api_runs,
    dataset_pages,
    errors,
    login,
    pages,
    predict,
    ws,
)
from backend.web.hosts import HostAllowlistMiddleware
from backend.web.security import CrossSiteMiddleware, TokenAuthMiddleware
from food_vision import __version__
from food_vision.settings import Settings, get_settings
from frontend.vendor import FRONTEND

log = logging.getLogger("foodvision.server")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.create(settings)
        app.state.services = services
        await services.start()
        log.info("FoodVision ready: run store %s", settings.runs_dir.resolve())
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="FoodVision",
        version=__version__,
        description="Train image classifiers, watch them learn live, and use them.",
        lifespan=lifespan,
    )
    # The last added runs first: the Host check, then the token, then cross-site refusal.
    app.add_middleware(CrossSiteMiddleware)
    if settings.token:
        app.add_middleware(TokenAuthMiddleware, token=settings.token)
    app.add_middleware(HostAllowlistMiddleware, names=settings.served_hosts)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=FRONTEND / "static"), name="static")
    routers = (api_meta, api_datasets, api_runs, predict, ws, login, dataset_pages, pages)
    for module in routers:
        app.include_router(module.router)
    return app


app = create_app()
