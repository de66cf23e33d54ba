"""The image as a product: it starts, answers its probes, serves the page, trains, predicts,
keeps its data in the volume across containers, and runs as a non-root user."""

from __future__ import annotations

import math
from typing import Any

import httpx

from food_vision.events import EpochEnd, Event
from frontend import vendor
from tests.container.conftest import Deployment

Trained = tuple[dict[str, Any], list[Event]]
NON_ROOT_UID = "10001"
DEMO_CLASSES = {"pizza", "steak", "sushi"}


def predict(deployment: Deployment, run_id: str, image: bytes) -> httpx.Response:
    return deployment.request(
        "POST",
        "/api/predict",
        files={"file": ("photo.jpg", image, "image/jpeg")},
        data={"model": run_id, "top_k": "3"},
    )


def test_health_and_readiness_answer_without_a_token(deployment: Deployment) -> None:
    url = deployment.container.url
    assert httpx.get(url + "/healthz", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_the_image_health_check_passes_with_python_alone(deployment: Deployment) -> None:
    kind, *argv = deployment.engine.health_check(deployment.image)
    assert kind == "CMD" and argv[0] == "python"
    done = deployment.container.exec(*argv)
    assert done.returncode == 0, done.stderr


def test_server_runs_as_a_non_root_user_that_owns_the_volume(deployment: Deployment) -> None:
    # PID 1 is the server; the volume's root is where runs and datasets are written.
    script = "import os; print(os.getuid(), os.stat('/proc/1').st_uid, os.stat('/data').st_uid)"
    done = deployment.container.exec("python", "-c", script)
    assert done.stdout.split() == [NON_ROOT_UID] * 3, done.stderr


def test_no_build_tools_in_the_final_image(deployment: Deployment) -> None:
    done = deployment.container.exec("sh", "-c", "command -v gcc cc make npm node git curl wget")
    assert done.stdout == "", f"found in the image: {done.stdout}"


def test_page_loads_its_pinned_htmx_from_the_image(deployment: Deployment) -> None:
    page = deployment.request("GET", "/")
    assert page.status_code == 200 and 'id="run-panel"' in page.text
    for item in vendor.pinned():
        src = f"/static/vendor/{item.file}"
        assert f'src="{src}"' in page.text, f"the page does not load {src} from the image"
        served = httpx.get(deployment.container.url + src, timeout=10)
        assert served.status_code == 200 and vendor.integrity_of(served.content) == item.integrity


def test_token_and_host_allowlist_guard_the_open_address(deployment: Deployment) -> None:
    url = deployment.container.url
    assert httpx.get(url + "/api/runs", timeout=10).status_code == 401
    as_localhost = deployment.request("GET", "/api/runs", headers={"Host": "localhost:8000"})
    assert as_localhost.status_code == 200
    renamed = deployment.request("GET", "/api/runs", headers={"Host": "food.example.com"})
    assert renamed.status_code == 400


def test_tinyvgg_trains_on_the_demo_with_its_events_over_the_websocket(
    deployment: Deployment, trained: Trained
) -> None:
    run, events = trained
    types = [event.type for event in events]
    assert types[0] == "started" and types[-1] == "completed", types
    assert [event.epoch for event in events if isinstance(event, EpochEnd)] == [1, 2]
    assert all(event.run_id == run["id"] for event in events)
    detail = deployment.request("GET", f"/api/runs/{run['id']}").json()
    assert detail["status"] == "completed" and len(detail["history"]) == 2


def test_prediction_with_the_trained_model(deployment: Deployment, trained: Trained) -> None:
    run, _ = trained
    sample = deployment.request("GET", "/samples/demo/samples/pizza_0.jpg")
    assert sample.status_code == 200
    answer = predict(deployment, run["id"], sample.content)
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert {p["label"] for p in predictions} == DEMO_CLASSES
    assert math.isclose(sum(p["probability"] for p in predictions), 1.0, abs_tol=1e-3)
    not_an_image = predict(deployment, run["id"], b"plain text, not a photo")
    assert not_an_image.status_code == 415


def test_a_new_container_on_the_same_volume_keeps_the_run_and_its_model(
    deployment: Deployment, trained: Trained
) -> None:
    run, _ = trained
    sample = deployment.request("GET", "/samples/demo/samples/sushi_0.jpg").content
    assert deployment.container.stop() == 0, "SIGTERM should shut the server down cleanly"
    deployment.start(FOODVISION_ALLOWED_HOSTS="food.example.com,127.0.0.1")
    runs = {r["id"]: r["status"] for r in deployment.request("GET", "/api/runs").json()}
    assert runs.get(run["id"]) == "completed"
    models = [m["id"] for m in deployment.request("GET", "/api/models").json()]
    assert run["id"] in models
    assert predict(deployment, run["id"], sample).status_code == 200
    named = deployment.request("GET", "/api/models", headers={"Host": "food.example.com"})
    assert named.status_code == 200
