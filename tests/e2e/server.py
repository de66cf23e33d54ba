"""The app under test for the browser, and a little client for its API."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.utils.server import AppServer

ACTIVE = {"queued", "running"}
RUN_END_TIMEOUT = 120.0
# A one-thread trainer and OpenMP on a busy machine, and a short grace so cancels end soon.
SETTINGS = {
    "FOODVISION_TRAINER_THREADS": "1",
    "FOODVISION_GRACE_SECONDS": "5",
    "OMP_NUM_THREADS": "1",
}


@dataclass
class Server(AppServer):
    """The running app, with the calls the browser tests make around the page."""

    settings: dict[str, str] = field(default_factory=lambda: dict(SETTINGS))

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.api("GET", "/api/runs")
        return runs

    def wait_idle(self, timeout: float = RUN_END_TIMEOUT) -> list[dict[str, Any]]:
        """Poll the API until no run is queued or running; the runs then."""
        self.wait_for(lambda: not any(run["status"] in ACTIVE for run in self.runs()), timeout)
        return self.runs()

    def wait_for(self, done: Callable[[], bool], timeout: float = RUN_END_TIMEOUT) -> None:
        """Poll ``done`` (which asks the API) until it holds."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"still not so after {timeout}s; runs: {self.runs()}")
            time.sleep(0.25)
