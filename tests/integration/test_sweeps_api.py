"""Sweeps over the API: one queued run per combination under one id, compared together."""

from __future__ import annotations

import httpx

from tests.integration.test_server_runs import FINAL, TINY

BASE = {**TINY, "epochs": 1}


def test_a_sweep_queues_its_runs_and_opens_in_the_comparison(server):
    server.wait_idle()
    vary = {"learning_rate": [0.01, 0.003]}
    answer = httpx.post(f"{server.url}/api/sweeps", json={"base": BASE, "vary": vary}, timeout=60)
    assert answer.status_code == 201, answer.text
    sweep = answer.json()
    assert [run["config"]["learning_rate"] for run in sweep["runs"]] == [0.01, 0.003]
    assert {run["sweep"] for run in sweep["runs"]} == {sweep["id"]}
    for run in sweep["runs"]:
        assert server.wait_status(run["id"], FINAL)["status"] == "completed"
    done = httpx.get(f"{server.url}/api/sweeps/{sweep['id']}", timeout=30).json()
    assert done["best"] in [run["id"] for run in sweep["runs"]]
    page = httpx.get(f"{server.url}{done['compare']}", timeout=60)
    assert page.status_code == 200 and all(run["id"] in page.text for run in sweep["runs"])


def test_bad_sweeps_are_refused_and_queue_nothing(server):
    before = len(httpx.get(f"{server.url}/api/runs", timeout=30).json())
    for vary in ({"optimizer": ["adam"]}, {"seed": list(range(17))}, {"epochs": [1, 0]}):
        answer = httpx.post(f"{server.url}/api/sweeps", json={"base": BASE, "vary": vary})
        assert answer.status_code == 422, answer.text
    assert httpx.post(f"{server.url}/api/sweeps", json={"base": BASE}).status_code == 422
    assert httpx.get(f"{server.url}/api/sweeps/20990101-000000-abcdef").status_code == 404
    assert len(httpx.get(f"{server.url}/api/runs", timeout=30).json()) == before
