"""The app under test: a uvicorn subprocess on a free port, and a little client for its API."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACTIVE = {"queued", "running"}
READY_TIMEOUT = 60.0
RUN_END_TIMEOUT = 120.0


@dataclass
class Server:
    """The running app: its base URL, home folder and log file."""

    url: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

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
        return self.api("GET", "/api/runs")

    def wait_idle(self, timeout: float = RUN_END_TIMEOUT) -> list[dict[str, Any]]:
        """Poll the API until no run is queued or running; the runs then."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs()
            if not any(run["status"] in ACTIVE for run in runs):
                return runs
            if time.monotonic() > deadline:
                raise AssertionError(f"a run is still active after {timeout}s: {runs}")
            time.sleep(0.25)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready after {READY_TIMEOUT}s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
