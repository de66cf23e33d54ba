"""The server a benchmark measures, over a temp home that is removed afterwards.

At exit the server is stopped with SIGTERM (it cancels its run), its group is SIGKILLed, and
any trainer group recorded in the temp run store that is still alive is killed as well.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import log
from food_vision.process_group import signal_group
from tests.utils.processes import group_members
from tests.utils.server import STOP_TIMEOUT, AppServer

READY_TIMEOUT = 90.0


@dataclass
class BenchServer(AppServer):
    """The app over a temp home, with the API calls the benchmarks make around a run."""

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop the server, then no trainer group may survive it."""
        code = super().stop(sig, timeout)
        for pgid in self.trainer_pgids():
            if group_members(pgid):
                log(f"killing left-over trainer group {pgid}")
                signal_group(pgid, signal.SIGKILL)
        return code

    def trainer_pgids(self) -> list[int]:
        pgids = []
        for run_file in self.runs_dir.glob("*/run.json"):
            with contextlib.suppress(OSError, ValueError):
                pid = json.loads(run_file.read_text()).get("pid")
                if isinstance(pid, int) and pid > 1:
                    pgids.append(pid)
        return pgids

    def start_run(self, client: httpx.Client, config: dict[str, Any]) -> str:
        response = client.post(f"{self.url}/api/runs", json=config, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/runs: {response.status_code} {response.text}")
        run_id: str = response.json()["id"]
        return run_id

    def run(self, client: httpx.Client, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = client.get(f"{self.url}/api/runs/{run_id}", timeout=30).json()
        return run

    def wait_finished(
        self, client: httpx.Client, run_id: str, timeout: float = 120
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(client, run_id)
            if run["status"] not in ("queued", "running"):
                return run
            time.sleep(0.2)
        raise RuntimeError(f"run {run_id} still active after {timeout:.0f} s")

    def run_pid(self, run_id: str) -> int:
        pid: int = json.loads((self.runs_dir / run_id / "run.json").read_text())["pid"]
        return pid

    def wait_group_gone(self, run_id: str, timeout: float = 30) -> None:
        """Until no process of the run's group is left (a trainer exits after its last event)."""
        pgid = self.run_pid(run_id)
        deadline = time.monotonic() + timeout
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def bench_server(
    prefix: str,
    *,
    prepare: Callable[[BenchServer], None] | None = None,
    server_type: type[BenchServer] = BenchServer,
    framework: str = "fastapi",
    **settings: str,
) -> Iterator[BenchServer]:
    """A started server (of ``framework``'s web layer) over a fresh temp home (``prepare``
    fills it first); always cleaned."""
    home = Path(tempfile.mkdtemp(prefix=f"foodvision-{prefix}-"))
    server = server_type(home, settings=dict(settings), framework=framework)
    try:
        if prepare is not None:
            prepare(server)
        server.start(READY_TIMEOUT)
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
