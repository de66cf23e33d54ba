"""The Flask application: built by ``create_app``, the services started on their own loop
(``ServiceLoop``) when the worker loads it."""

from __future__ import annotations

from flask import Flask

from backend.flask_web import EXTENSION, errors, guards
from backend.flask_web.api import api
from backend.flask_web.api_datasets import datasets
from backend.flask_web.dataset_pages import dataset_pages
from backend.flask_web.login import login_pages
from backend.flask_web.pages import pages
from backend.flask_web.predict import predict
from backend.flask_web.run_pages import run_pages
from backend.flask_web.service_loop import ServiceLoop
from backend.flask_web.sockets import sock, sockets
from backend.web.headers import DOCS_PATHS
from food_vision.settings import Settings, get_settings
from frontend.vendor import FRONTEND


def create_app(settings: Settings | None = None, loop: ServiceLoop | None = None) -> Flask:
    """The app over ``loop``'s services (a new loop, not yet started, by default)."""
    settings = settings or get_settings()
    app = Flask(
        "foodvision",
        static_folder=str(FRONTEND / "static"),
        static_url_path="/static",
        template_folder=None,
    )
    app.extensions[EXTENSION] = loop or ServiceLoop(settings)
    # Pings every send timeout: a page that answers none is dropped like a stalled one.
    app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": settings.send_timeout_seconds}
    guards.install(app, allowed_hosts=settings.served_hosts, token=settings.token, docs=DOCS_PATHS)
    errors.install(app)
    blueprints = (api, datasets, predict, sockets, dataset_pages, run_pages, login_pages, pages)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    sock.init_app(app)
    return app
