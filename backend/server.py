"""``foodvision serve``: uvicorn with one worker on the configured address."""

from __future__ import annotations

import logging

import uvicorn

from backend.settings import get_settings, is_loopback

log = logging.getLogger("foodvision.server")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(host: str | None = None, port: int | None = None) -> int:
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
    if not is_loopback(host) and not settings.token:
        log.warning(
            "listening on %s without FOODVISION_TOKEN: anyone who can reach it can use it", host
        )
    log.info("FoodVision on http://%s:%s/ (Ctrl-C to stop)", host, port)
    uvicorn.run("backend.app:app", host=host, port=port, workers=1, log_level="info")
    return 0
