"""The fault matrix against the real server: races, reconnect storms, runtime failures,
links out of the run store."""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import shutil
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from food_vision.datasets.demo import generate_demo
from tests.integration.test_server_runs import FINAL, TINY, collect_events
from tests.utils.factories import make_model_run


def test_two_simultaneous_starts_make_two_runs_that_each_train_once(server):
    server.wait_idle()
    before = {r["id"] for r in httpx.get(f"{server.url}/api/runs").json()}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/api/runs", json={**TINY, "epochs": 1}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, range(2)))
    assert [answer.status_code for answer in answers] == [201, 201]
    after = {r["id"] for r in httpx.get(f"{server.url}/api/runs").json()}
    assert after - before == {answer.json()["id"] for answer in answers}
    for run_id in after - before:
        assert server.wait_status(run_id, FINAL)["status"] == "completed"
        assert [e.type for e in collect_events(server, run_id)].count("started") == 1


def test_reconnect_storm_gets_a_snapshot_every_time_and_the_final_state(server):
    server.wait_idle()
    response = httpx.post(f"{server.url}/api/runs", json={**TINY, "epochs": 3}, timeout=30)
    assert response.status_code == 201, response.text
    run = response.json()
    origin = f"http://127.0.0.1:{server.port}"
    for _ in range(40):
        with connect(f"{server.ws_url}/ws", origin=origin, open_timeout=10) as ws:
            snapshot = ws.recv(timeout=10)
            assert 'id="run-panel"' in snapshot and run["id"] in snapshot
    server.wait_status(run["id"], FINAL)
    with connect(f"{server.ws_url}/ws", origin=origin, open_timeout=10) as ws:
        assert "run-panel state-completed" in ws.recv(timeout=10)
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_trainer_failing_at_run_time_reports_its_reason(server):
    server.wait_idle()
    folder = server.data_dir / "vanishing"
    generate_demo(folder, train_per_class=4, test_per_class=2, size=32, samples_per_class=0)
    run = httpx.post(
        f"{server.url}/api/runs", json={**TINY, "dataset": "vanishing", "epochs": 1}, timeout=30
    ).json()
    shutil.rmtree(folder)
    done = server.wait_status(run["id"], FINAL, timeout=60)
    assert done["status"] == "failed"
    assert "vanishing" in done["error"] and "Traceback" not in done["error"]
    events = collect_events(server, run["id"])
    assert [e.type for e in events] == ["failed"]
    assert server.process is not None and server.process.poll() is None


def test_a_run_folder_that_links_outside_the_store_is_never_read(server, tmp_path):
    outside = make_model_run(tmp_path)
    link_id = "20260101-000000-feed01"
    (server.home / "runs" / link_id).symlink_to(tmp_path / outside)
    try:
        assert httpx.get(f"{server.url}/api/runs/{link_id}").status_code == 404
        assert link_id not in [r["id"] for r in httpx.get(f"{server.url}/api/runs").json()]
        assert link_id not in [m["id"] for m in httpx.get(f"{server.url}/api/models").json()]
        response = httpx.post(
            f"{server.url}/api/predict", files={"file": ("a.png", b"x")}, data={"model": link_id}
        )
        assert response.status_code == 404
    finally:
        (server.home / "runs" / link_id).unlink()


def test_cancel_right_after_start_still_ends_cancelled(server):
    server.wait_idle()
    run = httpx.post(f"{server.url}/api/runs", json={**TINY, "epochs": 50}, timeout=30).json()
    asked = time.monotonic()
    assert httpx.post(f"{server.url}/api/runs/{run['id']}/cancel").status_code == 202
    done = server.wait_status(run["id"], FINAL, timeout=30)
    assert done["status"] == "cancelled" and done["has_model"] is False
    assert time.monotonic() - asked < 15
    events = collect_events(server, run["id"])
    assert events[-1].type == "cancelled"


class _Payload:
    """Unpickling this would create a file: the proof that a loader used pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_posing_as_weights_is_refused_and_never_run(server, tmp_path):
    run_id = make_model_run(server.home / "runs")
    marker = tmp_path / "pwned"
    weights = server.home / "runs" / run_id / "model.safetensors"
    weights.write_bytes(pickle.dumps(_Payload(marker)))
    image = (server.data_dir / "tiny" / "samples").glob("*.jpg")
    response = httpx.post(
        f"{server.url}/api/predict",
        files={"file": ("a.jpg", next(image).read_bytes())},
        data={"model": run_id},
        timeout=30,
    )
    assert response.status_code == 404
    assert "cannot be used" in response.json()["detail"]
    assert not marker.exists()


def test_a_half_written_weights_file_is_never_listed(server):
    run_id = make_model_run(server.home / "runs")
    folder = server.home / "runs" / run_id
    (folder / "model.safetensors").rename(folder / ".model.safetensors.x1y2.tmp")
    models = [m["id"] for m in httpx.get(f"{server.url}/api/models").json()]
    assert run_id not in models
    response = httpx.post(
        f"{server.url}/api/predict", files={"file": ("a.png", b"\x89PNG")}, data={"model": run_id}
    )
    assert response.status_code == 404
