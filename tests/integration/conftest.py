"""A real uvicorn server in its own process, on a free loopback port, over a temp home."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from food_vision.datasets.demo import generate_demo
from food_vision.runs import RunRecord, read_run

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    home: Path
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "FOODVISION_HOME": str(self.home),
            "FOODVISION_DATA_DIR": str(self.data_dir),
            "FOODVISION_TRAINER_THREADS": "1",
            "FOODVISION_TRAINER_WORKERS": "1",
            "FOODVISION_GRACE_SECONDS": "4",
            **extra,
        }

    def start(self, **extra: str) -> None:
        with open(self.home / f"server-{self.port}.log", "ab") as log:
            self.process = self._spawn(log, extra)
        self._wait_ready()

    def _spawn(self, log: IO[bytes], extra: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env=self.env(**extra),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready within 60 s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code, self.process = self.process.returncode, None
        return code

    def record(self, run_id: str) -> RunRecord:
        record = read_run(self.home / "runs" / run_id)
        assert record is not None
        return record

    def wait_status(self, run_id: str, statuses: set[str], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = httpx.get(f"{self.url}/api/runs/{run_id}", timeout=10).json()
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


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("home")
    data_dir = home / "data"
    generate_demo(data_dir / "tiny", train_per_class=16, test_per_class=4, size=64)
    (data_dir / "broken" / "train" / "pizza").mkdir(parents=True)
    return home, data_dir


@pytest.fixture(scope="module")
def server(tiny_home: tuple[Path, Path]) -> Iterator[Server]:
    home, data_dir = tiny_home
    srv = Server(home, data_dir, free_port())
    srv.start()
    yield srv
    srv.stop()
