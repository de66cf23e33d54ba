"""``foodvision serve``: uvicorn with one worker on the configured address."""

from __future__ import annotations

import logging

import uvicorn

from backend.settings import get_settings

log = logging.getLogger("foodvision.server")


def serve(host: str | None = None, port: int | None = None) -> int:
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        log.warning(
            "listening on %s without FOODVISION_TOKEN: anyone who can reach it can use it", host
        )
    log.info("FoodVision on http://%s:%s/ (Ctrl-C to stop)", host, port)
    uvicorn.run("backend.app:app", host=host, port=port, workers=1, log_level="info")
    return 0
