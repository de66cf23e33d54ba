"""Server restarts and shutdown with a run in flight: nothing orphaned, nothing lost."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from tests.integration.conftest import Server
from tests.integration.test_server_runs import FINAL, TINY, group_alive

START_LIMIT = 180.0  # a loaded 2-core machine can take long to import torch


@pytest.fixture
def fresh_server(tiny_home):
    srv = Server(tiny_home)
    srv.start()
    yield srv
    srv.stop(signal.SIGKILL)


def _running_run(server: Server) -> tuple[str, int]:
    server.wait_idle()
    response = httpx.post(f"{server.url}/api/runs", json={**TINY, "epochs": 200}, timeout=30)
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    deadline = time.monotonic() + START_LIMIT
    while server.record(run_id).started_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
    record = server.record(run_id)
    assert record.started_at is not None, server.log_tail()  # its signal handlers are set
    return run_id, record.pid


def test_sigterm_to_server_cancels_and_records_the_run(fresh_server):
    run_id, pgid = _running_run(fresh_server)
    assert fresh_server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises it
    record = fresh_server.record(run_id)
    assert record.status.value == "cancelled"
    assert not group_alive(pgid)


def test_restart_marks_an_orphaned_run_interrupted(fresh_server):
    run_id, pgid = _running_run(fresh_server)
    fresh_server.stop(signal.SIGKILL)
    assert fresh_server.record(run_id).status.value == "running"
    fresh_server.start()
    run = httpx.get(f"{fresh_server.url}/api/runs/{run_id}").json()
    assert run["status"] == "interrupted" and run["status"] in FINAL
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(pgid)
