"""Token auth on and off, readiness, and metrics that move with runs and predictions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.app import create_app
from food_vision.settings import Settings
from tests.utils.factories import make_model_run, patterned_image
from tests.utils.server import TEST_CLIENT_HOSTS

TOKEN = "s3cret-token-for-tests"
PROTECTED = ["/api/runs", "/api/datasets", "/api/architectures", "/api/models", "/metrics"]


@pytest.fixture
def secured(tmp_path):
    with TestClient(
        create_app(Settings(home=tmp_path, token=TOKEN, allowed_hosts=TEST_CLIENT_HOSTS))
    ) as client:
        yield client


@pytest.fixture
def open_client(tmp_path):
    with TestClient(create_app(Settings(home=tmp_path, allowed_hosts=TEST_CLIENT_HOSTS))) as client:
        yield client


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/login", "/static/app.css"])
def test_health_and_sign_in_stay_open(secured, path):
    assert secured.get(path).status_code == 200


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic " + TOKEN, "Bearer "])
def test_api_needs_the_token(secured, path, header):
    headers = {"Authorization": header} if header else {}
    response = secured.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", PROTECTED)
def test_api_answers_with_the_token(secured, path):
    assert secured.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_state_changing_calls_need_the_token(secured):
    assert secured.post("/api/runs", json={"dataset": "demo"}).status_code == 401
    assert secured.post("/api/predict").status_code == 401
    assert secured.delete("/api/runs/20261125-000000-abcdef").status_code == 401


def test_page_redirects_to_sign_in_then_works_with_the_cookie(secured):
    response = secured.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    wrong = secured.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not right" in wrong.text
    right = secured.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert secured.get("/").status_code == 200


def test_websockets_need_the_token(secured):
    for path in ("/ws", "/api/runs/20261125-000000-abcdef/events"):
        with pytest.raises(WebSocketDisconnect) as info, secured.websocket_connect(path):
            pass
        assert info.value.code == 1008
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with secured.websocket_connect("/ws", headers=headers) as ws:
        assert 'id="run-panel"' in ws.receive_text()


def test_without_a_token_everything_is_open(open_client):
    assert open_client.get("/api/runs").status_code == 200
    assert open_client.get("/").status_code == 200
    assert (
        open_client.post("/login", data={"token": "x"}, follow_redirects=False).status_code == 303
    )


def test_readiness_before_and_after_start_up(tmp_path):
    app = create_app(Settings(home=tmp_path, allowed_hosts=TEST_CLIENT_HOSTS))
    client = TestClient(app)
    assert client.get("/readyz").status_code == 503
    with client:
        assert client.get("/readyz").json() == {"status": "ready"}
        assert (tmp_path / "runs").is_dir()


def metric(text: str, name: str) -> float:
    """The value of one sample (``name`` with its labels) in Prometheus text."""
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name:
            return float(value)
    return 0.0


def test_metrics_move_after_a_prediction_and_with_runs(tmp_path):
    run_id = make_model_run(tmp_path / "runs")
    with TestClient(create_app(Settings(home=tmp_path, allowed_hosts=TEST_CLIENT_HOSTS))) as client:
        before = client.get("/metrics").text
        assert metric(before, 'foodvision_runs{status="completed"}') == 1
        ok = client.post("/api/predict", files={"file": ("a.png", patterned_image())})
        assert ok.status_code == 200 and ok.json()["model"] == run_id
        refused = client.post("/api/predict", files={"file": ("a.txt", b"text")})
        assert refused.status_code == 415
        after = client.get("/metrics").text
    assert metric(after, 'foodvision_predictions_total{outcome="ok"}') == 1
    assert metric(after, 'foodvision_predictions_total{outcome="415"}') == 1
    assert metric(after, "foodvision_prediction_latency_seconds_count") == 1
    assert metric(after, "foodvision_microbatch_size_count") == 1
    assert "foodvision_websockets_open" in after
    assert "foodvision_prediction_queue_depth" in after
