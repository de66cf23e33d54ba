"""``foodvision serve --framework flask``: the Flask app on Gunicorn, one worker (the services
hold the run state) with a thread per connection (flask-sock's WebSockets hold theirs)."""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from backend.flask_web import EXTENSION
from food_vision.settings import Settings

if TYPE_CHECKING:
    from backend.flask_web.service_loop import ServiceLoop

MIN_THREADS = 8
STOP_MARGIN_SECONDS = 20  # beyond the trainer's grace: stopping the queue and the database


class ServiceWorker(ThreadWorker):  # type: ignore[misc]
    """Gunicorn's threaded worker that stops the services on SIGTERM: the running run is
    cancelled and recorded, as under uvicorn, and open WebSockets end."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if (loop := _service_loop(self)) is not None:
            loop.begin_stop()

    def run(self) -> None:
        try:
            super().run()
        finally:
            if (loop := _service_loop(self)) is not None:
                loop.close(timeout=self.cfg.graceful_timeout)


def _service_loop(worker: ThreadWorker) -> ServiceLoop | None:
    app = getattr(worker, "wsgi", None)
    return app.extensions[EXTENSION] if isinstance(app, Flask) else None


class FlaskServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured from the settings instead of its command line."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        options: dict[str, Any] = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": 1,
            "worker_class": f"{__name__}.ServiceWorker",
            # A thread per request or open WebSocket; kept-alive idle connections need none.
            "threads": max(MIN_THREADS, settings.max_connections // 2),
            "worker_connections": settings.max_connections,
            "control_socket_disable": True,
            "graceful_timeout": round(settings.grace_seconds + STOP_MARGIN_SECONDS),
            "timeout": round(settings.grace_seconds + STOP_MARGIN_SECONDS),
            "accesslog": "-",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """In the worker: start the services on their loop, then build the app over them.
        Imported here, so that the master process never loads torch: its thread pools do not
        survive the fork into the worker."""
        from backend.flask_web.app import create_app
        from backend.flask_web.service_loop import ServiceLoop

        loop = ServiceLoop(self.settings)
        loop.start()
        return create_app(self.settings, loop)


def serve_flask(settings: Settings) -> int:
    FlaskServer(settings).run()
    return 0
