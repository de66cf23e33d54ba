"""``foodvision worker`` processes beside the server: live events through PostgreSQL, stop and
cancel reaching them, a worker killed outright (its run ends ``interrupted``, never re-run),
and several workers on one machine running each queued run once."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

from tests.integration.conftest import SETTINGS, Server
from tests.integration.test_run_queue import LONG, postmaster, submit
from tests.integration.test_server_runs import FINAL, TINY
from tests.utils.processes import wait_until_dead
from tests.utils.workers import WorkerProcess

# The server trains nothing itself, and a worker silent for 6 s is gone.
REMOTE = {**SETTINGS, "FOODVISION_SERVER_WORKER": "false", "FOODVISION_HEARTBEAT_SECONDS": "2"}


@pytest.fixture
def workers(tiny_home: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop(signal.SIGKILL)


def start_workers(home: Path, names: list[str], into: list[WorkerProcess]) -> None:
    into.extend(WorkerProcess(home, name, dict(REMOTE)).start() for name in names)
    for worker in into:
        worker.wait_ready()


def live_events(server: Server, run_id: str, count: int) -> list[dict]:
    with connect(f"{server.ws_url}/api/runs/{run_id}/events", open_timeout=30) as socket:
        return [json.loads(socket.recv(timeout=60)) for _ in range(count)]


def until_closed(socket: ClientConnection, timeout: float = 180) -> list[dict]:
    """Every event the socket sends until it closes after the run's final one."""
    events = []
    with contextlib.suppress(ConnectionClosedOK):
        while True:
            events.append(json.loads(socket.recv(timeout=timeout)))
    return events


def test_remote_runs_are_live_stoppable_cancellable_and_a_killed_worker_interrupts_its_run(
    tiny_home: Path, workers: list[WorkerProcess]
):
    server = Server(tiny_home, settings=dict(REMOTE))
    server.start()
    try:
        start_workers(tiny_home, ["w1", "w2"], workers)
        doomed, kept = (submit(server, LONG).json()["id"] for _ in range(2))
        for run_id in (doomed, kept):
            server.wait_status(run_id, {"running"})
        events = live_events(server, kept, 3)
        assert [event["type"] for event in events][:1] == ["started"]
        assert {event["run_id"] for event in events} == {kept}

        pid = server.record(doomed).pid
        killed = next(worker for worker in workers if worker.trains(pid))
        trainer = psutil.Process(pid)
        killed.stop(signal.SIGKILL)
        assert wait_until_dead([trainer], limit=10) == [], "the trainer must die with its worker"
        ended = server.wait_status(doomed, FINAL, timeout=60)
        assert ended["status"] == "interrupted"
        assert f"worker {killed.name} stopped answering" in ended["error"]

        with connect(f"{server.ws_url}/api/runs/{kept}/events", open_timeout=30) as socket:
            assert httpx.post(f"{server.url}/api/runs/{kept}/stop", timeout=30).status_code == 202
            streamed = until_closed(socket)
        stored = (tiny_home / "runs" / kept / "events.jsonl").read_text().splitlines()
        assert streamed == [json.loads(line) for line in stored], "each event once, in order"
        assert streamed[-1]["type"] == "completed" and streamed[-1]["stopped_early"] is True

        cancelled = submit(server, LONG).json()["id"]
        server.wait_status(cancelled, {"running"})
        assert (
            httpx.post(f"{server.url}/api/runs/{cancelled}/cancel", timeout=30).status_code == 202
        )
        assert server.wait_status(cancelled, FINAL, timeout=60)["status"] == "cancelled"
        assert server.record(doomed).status.value == "interrupted", "never re-run"
    finally:
        server.stop(signal.SIGKILL)


def test_two_workers_on_one_machine_run_each_queued_run_once(
    tiny_home: Path, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("FOODVISION_DATABASE_URL")  # the server's embedded PostgreSQL
    server = Server(tiny_home, settings=dict(REMOTE))
    server.start(timeout=180)
    try:
        start_workers(tiny_home, ["a", "b"], workers)
        ids = [
            submit(server, {**TINY, "epochs": 1, "seed": seed}).json()["id"] for seed in range(4)
        ]
        for run_id in ids:
            assert server.wait_status(run_id, FINAL, timeout=240)["status"] == "completed"
            events = (tiny_home / "runs" / run_id / "events.jsonl").read_text().splitlines()
            assert [json.loads(line)["type"] for line in events].count("started") == 1
    finally:
        for worker in workers:
            worker.stop(signal.SIGTERM)
        server.stop(signal.SIGTERM)
        if (process := postmaster(tiny_home)) is not None:
            process.kill()
