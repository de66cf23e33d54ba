"""What a view needs from the app: the service loop, its services, and the one bridge
(``call``) by which a request thread runs a coroutine on the services' loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from flask import current_app

from backend.flask_web import EXTENSION
from backend.flask_web.service_loop import ServiceLoop
from backend.services.container import Services
from backend.web.run_api import live_run
from food_vision.runs import RunRecord

T = TypeVar("T")


def service_loop() -> ServiceLoop:
    loop: ServiceLoop = current_app.extensions[EXTENSION]
    return loop


def services() -> Services:
    return service_loop().services


def call(coro: Coroutine[Any, Any, T]) -> T:
    return service_loop().call(coro)


def on_run(run_id: str, then: Callable[[Services, RunRecord], Awaitable[T]]) -> T:
    """``then(services, run)`` for the run named in the path (404 for an unknown id), run on
    the services' loop."""
    found = services()

    async def with_run() -> T:
        return await then(found, await live_run(found, run_id))

    return call(with_run())
