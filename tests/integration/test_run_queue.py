"""The run queue end to end: the server's private PostgreSQL through crashes, the cap on waiting
runs under concurrent submissions, and restarts with waiting runs."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.conftest import Server
from tests.integration.test_server_runs import FINAL, TINY

LONG = {**TINY, "epochs": 200}


def submit(server: Server, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/api/runs", json=body, timeout=60)


def postmaster(home: Path) -> psutil.Process | None:
    """The live PostgreSQL server of ``home``'s private cluster, if any."""
    try:
        pid = int((home / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        return None if process.status() == psutil.STATUS_ZOMBIE else process
    except (OSError, ValueError, psutil.Error):
        return None


def runs(server: Server) -> dict[str, dict]:
    return {run["id"]: run for run in httpx.get(f"{server.url}/api/runs", timeout=30).json()}


@pytest.fixture
def embedded(tiny_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A server with no FOODVISION_DATABASE_URL: it runs its own PostgreSQL."""
    monkeypatch.delenv("FOODVISION_DATABASE_URL")
    srv = Server(tiny_home)
    yield srv
    srv.stop(signal.SIGKILL)
    if (process := postmaster(tiny_home)) is not None:
        process.kill()


def test_private_postgres_survives_crashes_and_stops_with_the_server(embedded):
    embedded.start(timeout=180)
    database = postmaster(embedded.home)
    assert database is not None and database.username() != "root"
    assert not [c for c in database.net_connections() if c.status == psutil.CONN_LISTEN]
    running = submit(embedded, LONG).json()
    embedded.wait_status(running["id"], {"running"})
    waiting = [submit(embedded, TINY).json() for _ in range(2)]
    assert [run["position"] for run in waiting] == [1, 2]

    database.kill()  # PostgreSQL dies under the server: a clear 503, no crash
    refused = submit(embedded, TINY)
    assert refused.status_code == 503 and "unavailable" in refused.json()["detail"]
    assert httpx.get(f"{embedded.url}/healthz").status_code == 200

    embedded.stop(signal.SIGKILL)  # then the server: a stale postmaster.pid is left behind
    embedded.start(timeout=180)
    after = runs(embedded)
    assert after[running["id"]]["status"] == "interrupted"
    first, second = (after[run["id"]] for run in waiting)
    assert first["status"] in ("queued", "running") and second["status"] == "queued"
    embedded.cancel_all()

    assert embedded.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert postmaster(embedded.home) is None


@pytest.mark.contract
def test_concurrent_submissions_never_pass_the_cap_and_a_restart_keeps_the_queue(
    tiny_home, framework
):
    settings = {**Server(tiny_home).settings, "FOODVISION_MAX_QUEUED": "3"}
    server = Server(tiny_home, settings=settings, framework=framework)
    server.start(timeout=180)
    try:
        running = submit(server, LONG).json()
        server.wait_status(running["id"], {"running"})
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: submit(server, TINY), range(8)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201] * 3 + [409] * 5
        assert "FOODVISION_MAX_QUEUED" in next(a for a in answers if a.status_code == 409).text
        queued = sorted((a.json() for a in answers if a.status_code == 201), key=lambda r: r["id"])
        assert sorted(run["position"] for run in queued) == [1, 2, 3]
        order = [run["id"] for run in sorted(queued, key=lambda run: run["position"])]
        page = httpx.get(f"{server.url}/", timeout=30).text
        assert ">Queue run</button>" in page
        assert all(f'aria-label="Cancel queued run {run_id}"' in page for run_id in order)

        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        server.start(timeout=180)
        after = runs(server)
        assert after[running["id"]]["status"] == "cancelled"
        assert all(after[run_id]["status"] in ("queued", "running") for run_id in order)
        for run_id in order[1:]:
            httpx.post(f"{server.url}/api/runs/{run_id}/cancel", timeout=30)
        done = server.wait_status(order[0], FINAL, timeout=240)
        assert done["status"] == "completed"
        started = [runs(server)[run_id]["started_at"] for run_id in order[1:]]
        assert started == [None, None], "cancelled waiting runs must never start"
    finally:
        server.stop(signal.SIGKILL)
