"""Sweeps over the API: one queued run per combination under one id, compared together."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.test_server_runs import FINAL, TINY

pytestmark = pytest.mark.contract  # against both web layers
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
    for vary in ({"optimizer": ["adam"]}, {"seed": list(range(9))}, {"epochs": [1, 0]}):
        answer = httpx.post(f"{server.url}/api/sweeps", json={"base": BASE, "vary": vary})
        assert answer.status_code == 422, answer.text
    assert httpx.post(f"{server.url}/api/sweeps", json={"base": BASE}).status_code == 422
    assert httpx.get(f"{server.url}/api/sweeps/20990101-000000-abcdef").status_code == 404
    assert len(httpx.get(f"{server.url}/api/runs", timeout=30).json()) == before


HTMX = {"HX-Request": "true"}
FORM = {"dataset": "tiny", "architecture": "tinyvgg", "epochs": "1", "batch_size": "8",
        "learning_rate": "0.01"}  # fmt: skip


def test_the_page_form_queues_a_sweep_listed_together_with_its_best_run(server):
    server.wait_idle()
    form = {**FORM, "also_learning_rate": "0.003"}
    answer = httpx.post(f"{server.url}/runs", data=form, headers=HTMX, timeout=60)
    assert answer.status_code == 200 and "runs, listed together below" in answer.text
    runs = [run for run in httpx.get(f"{server.url}/api/runs", timeout=30).json()[:2]]
    sweep = runs[0]["sweep"]
    assert sweep and runs[1]["sweep"] == sweep
    assert sorted(run["config"]["learning_rate"] for run in runs) == [0.003, 0.01]
    for run in runs:
        assert server.wait_status(run["id"], FINAL)["status"] == "completed"
    page = httpx.get(f"{server.url}/", timeout=60).text
    assert f"Sweep {sweep[-6:]} · 2 runs · best " in page
    done = httpx.get(f"{server.url}/api/sweeps/{sweep}", timeout=30).json()
    assert done["compare"].replace("&", "&amp;") in page  # "Compare the sweep"


def test_the_page_form_refuses_a_wrong_sweep_choice_and_queues_nothing(server):
    before = len(httpx.get(f"{server.url}/api/runs", timeout=30).json())
    wrong = {**FORM, "also_learning_rate": "0.01, quick"}
    fragment = httpx.post(f"{server.url}/runs", data=wrong, headers=HTMX, timeout=60)
    assert fragment.status_code == 200 and "&#39;quick&#39; is not a number" in fragment.text
    page = httpx.post(f"{server.url}/runs", data={**FORM, "also_architecture": "x"}, timeout=60)
    assert page.status_code == 422 and "unknown model" in page.text
    many = {**FORM, "also_learning_rate": " ".join(f"0.00{n}" for n in range(1, 9))}
    capped = httpx.post(f"{server.url}/runs", data=many, headers=HTMX, timeout=60)
    assert "9 combinations; a sweep holds at most 8" in capped.text
    assert len(httpx.get(f"{server.url}/api/runs", timeout=30).json()) == before
