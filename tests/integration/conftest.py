"""A real server (uvicorn, or Gunicorn for the Flask twin) in its own process, on a free
loopback port, over a temp home."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from food_vision.datasets.demo import generate_demo
from food_vision.runs import RunRecord, read_run
from tests.utils.server import AppServer
from tests.utils.trainer import Trainer

# One quiet trainer at a time, and a short grace so cancel tests do not wait long.
SETTINGS = {
    "FOODVISION_TRAINER_THREADS": "1",
    "FOODVISION_TRAINER_WORKERS": "1",
    "FOODVISION_GRACE_SECONDS": "4",
}


@dataclass
class Server(AppServer):
    """The shared server plus what the tests ask of its runs."""

    settings: dict[str, str] = field(default_factory=lambda: dict(SETTINGS))

    def record(self, run_id: str) -> RunRecord:
        record = read_run(self.home / "runs" / run_id)
        assert record is not None
        return record

    def wait_status(self, run_id: str, statuses: set[str], timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = httpx.get(f"{self.url}/api/runs/{run_id}", timeout=10).json()
            if run["status"] in statuses:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not reach {statuses}: {run['status']}")

    def cancel_all(self) -> None:
        """Cancel whatever runs (a fuzzer may start a long one) and wait for it to end."""
        for run in httpx.get(f"{self.url}/api/runs", timeout=10).json():
            if run["status"] in ("queued", "running"):
                httpx.post(f"{self.url}/api/runs/{run['id']}/cancel", timeout=10)
        self.wait_idle(timeout=60)

    def wait_idle(self, timeout: float = 120) -> None:
        for run in httpx.get(f"{self.url}/api/runs", timeout=10).json():
            if run["status"] in ("queued", "running"):
                self.wait_status(run["id"], {"completed", "cancelled", "failed"}, timeout)


@pytest.fixture
def trainers() -> Iterator[list[Trainer]]:
    """Trainer subprocesses a test starts, killed with their groups when it ends."""
    started: list[Trainer] = []
    yield started
    for trainer in started:
        trainer.kill()


FRAMEWORKS = ("fastapi", "flask")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked ``contract`` runs against both web layers: one server each."""
    if "framework" in metafunc.fixturenames and metafunc.definition.get_closest_marker("contract"):
        metafunc.parametrize("framework", FRAMEWORKS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def framework(request: pytest.FixtureRequest) -> str:
    """The web layer the module's server runs (FastAPI unless the module is a contract)."""
    return str(getattr(request, "param", "fastapi"))


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory, framework: str) -> Path:
    """A home whose data holds ``tiny`` (a small demo) and ``broken`` (no images)."""
    home = tmp_path_factory.mktemp(f"home-{framework}")
    generate_demo(home / "data" / "tiny", train_per_class=16, test_per_class=4, size=64)
    (home / "data" / "broken" / "train" / "pizza").mkdir(parents=True)
    return home


@pytest.fixture(scope="module")
def server(tiny_home: Path, framework: str) -> Iterator[Server]:
    srv = Server(tiny_home, framework=framework)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module", autouse=True)
def module_queue(queue_database: str) -> str:
    """Every app of the module queues its runs in the module's own database."""
    return queue_database
