"""Continue over the API and the page: a child of a finished run trains more epochs, numbered
on from its parent's, with the parent's epochs first in its history; every parent that cannot
be continued is refused with its reason (422 naming the field, or 409 naming the state)."""

from __future__ import annotations

import shutil

import httpx
import pytest

from food_vision.bundle import WEIGHTS_FILE
from food_vision.events import Started
from food_vision.runs import RunRecord, RunStatus, new_run_id, read_run, write_run
from tests.integration.test_server_runs import FINAL, collect_events, start
from tests.unit.test_lineage import NOT_CONTINUABLE
from tests.utils.factories import make_bundle

pytestmark = pytest.mark.contract  # against both web layers

CONFIG = {"dataset": "tiny", "architecture": "tinyvgg", "epochs": 1, "image_size": 64}


def made_parent(
    server, status: RunStatus = RunStatus.COMPLETED, *, has_model: bool = True, classes=None
) -> str:
    """A run in the store as a trainer leaves it (a model, no optimizer state)."""
    run_id = new_run_id()
    make_bundle(server.home / "runs" / run_id, classes=classes, dataset="tiny")
    record = RunRecord(run_id, status, CONFIG, has_model=has_model, epoch=1)
    write_run(server.home / "runs" / run_id, record)
    return run_id


def post(server, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/api/runs", json=body, timeout=30)


def refusal(response: httpx.Response) -> tuple[str, str]:
    """The field and message of a 422."""
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error["loc"][-1], error["msg"]


def test_a_child_numbers_its_epochs_on_and_shows_its_parents_first(server):
    server.wait_idle()
    parent = server.wait_status(start(server, epochs=2)["id"], FINAL, timeout=180)
    assert parent["status"] == "completed"
    answer = post(server, {"parent": parent["id"], "epochs": 2, "learning_rate": 0.001})
    assert answer.status_code == 201, answer.text
    child = answer.json()
    assert child["parent"] == parent["id"] and child["status"] in ("queued", "running")
    assert child["config"]["dataset"] == "tiny" and child["config"]["batch_size"] == 8
    assert child["config"]["learning_rate"] == 0.001

    done = server.wait_status(child["id"], FINAL, timeout=180)
    assert done["status"] == "completed", done
    history = [(e["epoch"], e["inherited"], e["run_id"]) for e in done["history"]]
    assert history == [
        (1, True, parent["id"]),
        (2, True, parent["id"]),
        (3, False, child["id"]),
        (4, False, child["id"]),
    ]
    record = read_run(server.home / "runs" / child["id"])
    assert record is not None and record.parent == parent["id"]
    started = collect_events(server, child["id"])[0]
    assert isinstance(started, Started) and started.parent == parent["id"]
    assert "from its model and optimizer state" in started.notes[-1]

    page = httpx.get(f"{server.url}/runs/{child['id']}", headers={"HX-Request": "true"})
    assert f'href="/runs/{parent["id"]}"' in page.text and "inherited" in page.text


def test_a_parent_without_optimizer_state_continues_with_a_fresh_one(server):
    server.wait_idle()
    answer = post(server, {"parent": made_parent(server), "epochs": 1})
    assert answer.status_code == 201, answer.text
    done = server.wait_status(answer.json()["id"], FINAL, timeout=180)
    assert done["status"] == "completed" and [e["epoch"] for e in done["history"]] == [2]
    started = collect_events(server, done["id"])[0]
    assert isinstance(started, Started)
    assert "saved no optimizer state, so a fresh optimizer starts" in started.notes[-1]


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ({"parent": "20990101-000000-abcdef"}, "parent", "there is no run"),
        ({"parent": "../../etc"}, "parent", "there is no run"),
        ({"parent": "x" * 65}, "parent", "at most 64 characters"),
        ({"architecture": "mobilenet_v3_small"}, "architecture", "keeps its parent's"),
        ({"dataset": "broken"}, "dataset", "keeps its parent's"),
        ({"image_size": 96}, "image_size", "keeps its parent's"),
        ({"processes": 2}, "processes", "one process"),
        ({"epochs": 0}, "epochs", "greater than or equal to 1"),
    ],
)
def test_a_wrong_request_is_refused_naming_the_field(server, body, field, said):
    answer = post(server, {"parent": made_parent(server), **body})
    assert refusal(answer)[0] == field and said in refusal(answer)[1]


@pytest.mark.parametrize(("status", "has_model", "said"), NOT_CONTINUABLE)
def test_a_parent_that_did_not_end_with_a_model_is_a_conflict(server, status, has_model, said):
    parent = made_parent(server, status, has_model=has_model)
    answer = post(server, {"parent": parent, "epochs": 1})
    assert answer.status_code == 409, answer.text
    assert said in answer.json()["detail"] and answer.json()["run_id"] == parent
    shutil.rmtree(server.home / "runs" / parent)  # no trainer will ever end it


def test_a_missing_or_half_written_model_is_a_conflict(server):
    parent = made_parent(server)
    weights = server.home / "runs" / parent / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-64])
    answer = post(server, {"parent": parent})
    assert answer.status_code == 409 and "half-written" in answer.json()["detail"]
    weights.unlink()
    answer = post(server, {"parent": parent})
    assert answer.status_code == 409 and "missing" in answer.json()["detail"]


def test_a_dataset_whose_classes_changed_is_refused_naming_them(server):
    parent = made_parent(server, classes=["pizza", "ramen", "steak"])
    field, message = refusal(post(server, {"parent": parent}))
    assert field == "dataset" and "added sushi; removed ramen" in message


def test_the_page_control_queues_a_child_or_says_why_not(server):
    server.wait_idle()
    htmx = {"HX-Request": "true"}
    parent = made_parent(server)
    detail = httpx.get(f"{server.url}/runs/{parent}", headers=htmx)
    assert 'id="continue-run"' in detail.text and 'name="epochs"' in detail.text
    url = f"{server.url}/runs/{parent}/continue"
    refused = httpx.post(url, data={"epochs": "lots"}, headers=htmx)
    assert refused.status_code == 200 and "Epochs: Enter a whole number." in refused.text
    failed = made_parent(server, RunStatus.FAILED, has_model=False)
    refused = httpx.post(f"{server.url}/runs/{failed}/continue", data={"epochs": "1"})
    assert refused.status_code == 422 and "is failed" in refused.text
    queued = httpx.post(url, data={"epochs": "1"}, headers=htmx)
    assert queued.status_code == 200 and 'id="continue-note"' in queued.text
    server.wait_idle(timeout=180)
