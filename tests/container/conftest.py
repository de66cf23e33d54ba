"""A container of the built image (``FOODVISION_IMAGE``) under ``CONTAINER_ENGINE``, served on
0.0.0.0 inside with a token, over a volume of its own. Whatever the tests do, the container and
the volume are removed at the end; the container's log stays in ``test-output/container/``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from food_vision.events import Event, decode
from tests.container.engine import Container, Engine
from tests.utils.processes import REPO_ROOT

LOGS = REPO_ROOT / "test-output" / "container"
TRAIN_TIMEOUT = 240.0


@dataclass
class Deployment:
    """The image, its volume and the container running now, reached as a user would."""

    engine: Engine
    image: str
    volume: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    containers: list[Container] = field(default_factory=list)

    @property
    def container(self) -> Container:
        return self.containers[-1]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, **env: str) -> Container:
        """A new container of the image on the same volume."""
        name = f"{self.volume}-{len(self.containers) + 1}"
        container = Container(self.engine, self.image, name, self.volume,
                              env={"FOODVISION_TOKEN": self.token, **env})  # fmt: skip
        self.containers.append(container)
        container.start()
        return container

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An API call with the token to the running container."""
        headers = {**self.auth, **kwargs.pop("headers", {})}
        url = self.container.url + path
        return httpx.request(method, url, headers=headers, timeout=60, **kwargs)

    def events(self, run_id: str) -> list[Event]:
        """Every event of a run over its WebSocket, until the server closes it."""
        url = "ws" + self.container.url.removeprefix("http") + f"/api/runs/{run_id}/events"
        events = []
        with connect(url, additional_headers=self.auth, open_timeout=30) as ws:
            try:
                while True:
                    events.append(decode(ws.recv(timeout=TRAIN_TIMEOUT)))
            except ConnectionClosed:
                return events

    def remove(self) -> None:
        for container in self.containers:
            container.remove(log_to=LOGS / f"{container.name}.log")
        self.engine("volume", "rm", "--force", self.volume, check=False)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    image = os.environ.get("FOODVISION_IMAGE")
    if not image:
        pytest.skip("FOODVISION_IMAGE is not set: `make image-test` builds an image and runs this")
    engine = Engine(os.environ.get("CONTAINER_ENGINE", "docker"))
    volume = f"foodvision-smoke-{secrets.token_hex(4)}"
    engine("volume", "create", volume)
    deployment = Deployment(engine, image, volume)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.remove()


@pytest.fixture(scope="module")
def trained(deployment: Deployment) -> tuple[dict[str, Any], list[Event]]:
    """A short tinyvgg run on the demo (generated inside the container), watched to its end."""
    body = {"dataset": "demo", "architecture": "tinyvgg", "epochs": 2, "batch_size": 32}
    response = deployment.request("POST", "/api/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run, deployment.events(run["id"])
