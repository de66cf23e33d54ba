"""The FastAPI application: built by ``create_app``, services created in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from backend.services.container import Services
from backend.web import (
    api_datasets,
    api_docs,
    api_meta,
    api_runs,
    api_sweeps,
    compare,
    dataset_pages,
    errors,
    evaluation,
    login,
    pages,
    predict,
    run_pages,
    ws,
)
from backend.web.body_guard import RequestBodyGuard
from backend.web.headers import DOCS_PATHS, SecurityHeadersMiddleware
from backend.web.hosts import HostAllowlistMiddleware
from backend.web.page_feed import PageFeed
from backend.web.security import CrossSiteMiddleware, TokenAuthMiddleware
from food_vision import __version__
from food_vision.settings import Settings, get_settings
from frontend.vendor import FRONTEND

log = logging.getLogger("foodvision.server")
LINGER_UPLOADS = 4  # after an early refusal, up to this many upload limits are read and dropped


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.create(settings)
        app.state.services = services
        await services.start()
        app.state.page_feed = feed = PageFeed(services)
        feed_task = asyncio.create_task(feed.run())
        log.info("FoodVision ready: run store %s", settings.runs_dir.resolve())
        try:
            yield
        finally:
            feed_task.cancel()
            await services.stop()

    app = FastAPI(
        title="FoodVision",
        version=__version__,
        description="Train image classifiers, watch them learn live, and use them.",
        lifespan=lifespan,
        docs_url=None,  # served from the pinned local copies by api_docs
        redoc_url=None,
    )
    # The last added runs first: response headers, the body's time limit and lingering read
    # (so every refusal below reaches the client), the Host check, the token, cross-site.
    app.add_middleware(CrossSiteMiddleware)
    if settings.token:
        app.add_middleware(TokenAuthMiddleware, token=settings.token)
    app.add_middleware(HostAllowlistMiddleware, names=settings.served_hosts)
    app.add_middleware(
        RequestBodyGuard,
        timeout=settings.body_timeout_seconds,
        linger_bytes=LINGER_UPLOADS * settings.max_upload_bytes,
    )
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=DOCS_PATHS)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=FRONTEND / "static"), name="static")
    routers = (
        api_docs,
        api_meta,
        api_datasets,
        api_runs,
        api_sweeps,
        compare,
        evaluation,
        predict,
        ws,
        login,
        dataset_pages,
        run_pages,
        pages,
    )
    for module in routers:
        app.include_router(module.router)
    return app


def __getattr__(name: str) -> FastAPI:
    """``uvicorn backend.app:app`` builds the app when it asks for it, so importing this module
    reads no settings (``foodvision serve`` reports a bad one as an error, not a traceback)."""
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
