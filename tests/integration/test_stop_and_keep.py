"""Stop and keep over the API: the run finishes its epoch, is tested and saved, and completes
with ``stopped_early``; runs that are not running are refused with their state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from food_vision.runs import RunStatus
from tests.integration.test_server_runs import FINAL, _wait_for, collect_events, start
from tests.utils.factories import make_model_run

pytestmark = pytest.mark.contract  # against both web layers


def stop(server, run_id: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/runs/{run_id}/stop", timeout=30)


def test_stop_and_keep_ends_completed_with_the_model(server):
    server.wait_idle()
    run = start(server, epochs=200)
    waiting = start(server)
    refused = stop(server, waiting["id"])
    assert refused.status_code == 409 and "queued" in refused.json()["detail"]
    server.wait_status(run["id"], {"running"})
    _wait_for(lambda: server.record(run["id"]).started_at is not None, timeout=120)
    with ThreadPoolExecutor(2) as pool:  # two stops at once: both accepted, one stop
        answers = list(pool.map(lambda _: stop(server, run["id"]), range(2)))
    assert [a.status_code for a in answers] == [202, 202]
    assert all(a.json()["stopping"] for a in answers)
    httpx.post(f"{server.url}/api/runs/{waiting['id']}/cancel", timeout=30)

    done = server.wait_status(run["id"], FINAL, timeout=180)
    assert done["status"] == "completed" and done["stopped_early"] and done["has_model"]
    assert 1 <= len(done["history"]) < 200 and "test_acc" in done["metrics"]
    events = collect_events(server, run["id"])
    assert [e.type for e in events][-2:] == ["evaluated", "completed"]
    assert events[-1].stopped_early
    again = stop(server, run["id"])
    assert again.status_code == 409 and "completed" in again.json()["detail"]


def test_stop_is_refused_unless_the_run_is_running(server):
    server.wait_idle()
    assert stop(server, "20990101-000000-abcdef").status_code == 404
    for status in (RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.CANCELLED):
        run_id = make_model_run(server.home / "runs", status=status)
        answer = stop(server, run_id)
        assert answer.status_code == 409 and status.value in answer.json()["detail"]
        if status is not RunStatus.CANCELLED:  # cancel is idempotent on a cancelled run
            cancel = httpx.post(f"{server.url}/api/runs/{run_id}/cancel", timeout=30)
            assert cancel.status_code == 409 and status.value in cancel.json()["detail"]
    run = start(server, epochs=200)
    server.wait_status(run["id"], {"running"})
    assert stop(server, run["id"]).status_code == 202
    cancel = httpx.post(f"{server.url}/api/runs/{run['id']}/cancel", timeout=30)
    assert cancel.status_code == 202, "cancel keeps its meaning while a run stops"
    cancelling = stop(server, run["id"])
    assert cancelling.status_code == 409 and "cancelled" in cancelling.json()["detail"]
    done = server.wait_status(run["id"], FINAL, timeout=60)
    # Cancelled, unless the epoch under way ended in the moment between the two requests.
    assert done["status"] == "cancelled" or (done["status"], done["stopped_early"]) == (
        "completed",
        True,
    )
