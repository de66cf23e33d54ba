"""``foodvision serve``: uvicorn with one worker on the configured address, a deadline for
request headers, stalled WebSockets dropped and a cap on open connections."""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from backend.connection_guards import StalledSocketProtocol, guarded_protocol
from food_vision.settings import Settings, get_settings, is_loopback

log = logging.getLogger("foodvision.server")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(host: str | None = None, port: int | None = None, framework: str | None = None) -> int:
    try:
        settings = _with_address(get_settings(), host, port, framework)
    except ValidationError as exc:
        return settings_error(exc)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
    if not is_loopback(settings.host) and not settings.token:
        log.warning(
            "listening on %s without FOODVISION_TOKEN: anyone who can reach it can use it",
            settings.host,
        )
    log.info("FoodVision on http://%s:%s/ (Ctrl-C to stop)", settings.host, settings.port)
    log.info("answering to the host names %s", ", ".join(settings.served_hosts))
    if settings.framework == "flask":
        from backend.flask_web.server import serve_flask

        return serve_flask(settings)
    from backend.app import create_app  # not in a Gunicorn master: see backend.flask_web

    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        log_level="info",
        http=guarded_protocol(settings.header_timeout_seconds),
        ws=StalledSocketProtocol,
        # A page that answers no ping within the send timeout is dropped like a stalled one.
        ws_ping_interval=settings.send_timeout_seconds,
        ws_ping_timeout=settings.send_timeout_seconds,
        limit_concurrency=settings.max_connections,
    )
    return 0


def _with_address(
    settings: Settings, host: str | None, port: int | None, framework: str | None = None
) -> Settings:
    """The settings with the command line's address and framework, validated like the
    environment's (the bind address is also a name the Host allowlist accepts)."""
    given = (("host", host), ("port", port), ("framework", framework))
    changes = {key: value for key, value in given if value}
    return Settings.model_validate({**settings.model_dump(), **changes})


def settings_error(exc: ValidationError) -> int:
    """A setting the environment got wrong, as one line naming its variable: exit status 2."""
    error = exc.errors()[0]
    names = ", ".join(f"FOODVISION_{str(part).upper()}" for part in error["loc"])
    print(f"error: {names}: {error['msg']}" if names else f"error: {error['msg']}",
          file=sys.stderr)  # fmt: skip
    return 2
