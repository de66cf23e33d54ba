"""POST /api/predict and the page's /predict against a real server of each web layer (and, for
what needs settings of its own, in-process with the app's lifespan)."""

from __future__ import annotations

import concurrent.futures
import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from backend.app import create_app
from food_vision.settings import Settings
from tests.utils.factories import make_model_run, patterned_image
from tests.utils.server import LOCAL, AppServer

LIMIT = 64 * 1024


pytestmark = pytest.mark.contract  # the tests over ``client``: against both web layers
SETTINGS = {"FOODVISION_MAX_UPLOAD_BYTES": str(LIMIT), "FOODVISION_BATCH_WINDOW_MS": "20"}


@pytest.fixture(scope="module")
def home(tmp_path_factory, framework):
    return tmp_path_factory.mktemp(f"predict-home-{framework}")


@pytest.fixture(scope="module")
def predict_server(home, framework):
    server = AppServer(home, settings=SETTINGS, framework=framework)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(predict_server):
    with httpx.Client(base_url=predict_server.url, timeout=60) as http_client:
        yield http_client


@pytest.fixture(scope="module")
def model_id(home, client):
    return make_model_run(home / "runs")


def post_image(client, data: bytes, name: str = "photo.png", **fields):
    return client.post("/api/predict", files={"file": (name, data)}, data=fields)


def test_no_model_yet_says_so(tmp_path):
    with TestClient(create_app(Settings(home=tmp_path)), base_url=LOCAL) as fresh:
        response = post_image(fresh, patterned_image())
    assert response.status_code == 404
    assert "no trained model yet" in response.json()["detail"]


def test_predicts_top_k_with_the_newest_model_by_default(client, model_id):
    response = post_image(client, patterned_image(), top_k="2")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == model_id
    assert len(body["predictions"]) == 2 and body["latency_ms"] > 0
    labels = {p["label"] for p in body["predictions"]}
    assert labels <= {"pizza", "steak", "sushi"}
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_models_listing_names_the_model(client, model_id):
    assert model_id in [m["id"] for m in client.get("/api/models").json()]


@pytest.mark.parametrize("model", ["no-such-run-123", "../../etc/passwd", "/etc/passwd", "a"])
def test_unknown_or_traversal_model_ids_are_404(client, model_id, model):
    response = post_image(client, patterned_image(), model=model)
    assert response.status_code == 404
    assert "no trained model" in response.json()["detail"]


@pytest.mark.parametrize("top_k", ["0", "21", "-1", "two", "1.5"])
def test_top_k_out_of_range_is_422(client, model_id, top_k):
    response = post_image(client, patterned_image(), top_k=top_k)
    assert response.status_code == 422 and "top_k" in response.json()["detail"]


def test_body_just_under_the_limit_is_accepted_and_just_over_is_413(client, model_id):
    base = patterned_image("PNG", size=(16, 16))
    under = base + b"\0" * (LIMIT - len(base))
    assert post_image(client, under).status_code == 200
    over = base + b"\0" * (LIMIT - len(base) + 1)
    response = post_image(client, over)
    assert response.status_code == 413 and "64 KB limit" in response.json()["detail"]


def test_oversized_body_with_content_length_is_refused_before_reading(predict_server):
    with socket.create_connection(("127.0.0.1", predict_server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (10**9, b"x" * 16)
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_oversized_body_without_content_length_is_413(client, model_id):
    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
        for _ in range(20):
            yield b"\0" * 8192
        yield b"\r\n--b--\r\n"

    response = client.post(
        "/api/predict", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413


def test_not_multipart_is_415(client):
    response = client.post("/api/predict", json={"file": "x"})
    assert response.status_code == 415


def test_many_small_parts_are_400(client):
    fields = {f"f{i}": "x" for i in range(200)}
    response = client.post(
        "/api/predict", data=fields, files={"file": ("a.png", patterned_image())}
    )
    assert response.status_code == 400
    assert "Too many fields" in response.json()["detail"]


def test_thousands_of_parts_are_refused(client):
    fields = {f"field{i}": "x" * 40 for i in range(5000)}
    response = client.post(
        "/api/predict", data=fields, files={"file": ("a.png", patterned_image())}
    )
    assert response.status_code in (400, 413)


def test_huge_text_field_is_refused(client):
    response = client.post(
        "/api/predict",
        data={"model": "m" * (70 * 1024)},
        files={"file": ("a.png", patterned_image())},
    )
    assert response.status_code in (400, 413)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415),
        (b"<!doctype html><script>alert(1)</script>", 415),
        (b"%PDF-1.4 not an image", 415),
        (patterned_image("JPEG", size=(200, 200))[:400], 422),
    ],
)
def test_bad_uploads_get_clear_4xx_and_are_never_echoed(client, model_id, data, status):
    response = post_image(client, data, name="<b>photo</b>.jpg")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert "<script>" not in response.text and "<b>" not in response.text


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/path.png", "a\x00b.png", "x" * 10_000, "\u202egnp.exe"]
)
def test_file_names_are_never_used(client, model_id, home, name):
    response = post_image(client, patterned_image(), name=name)
    assert response.status_code == 200 or (len(name) > 1000 and response.status_code == 400)
    assert name not in response.text
    assert not (home / "etc").exists()


def test_concurrent_requests_are_all_answered(client, model_id):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post_image(client, patterned_image()), range(16)))
    assert [r.status_code for r in responses] == [200] * 16


def test_page_result_partial_shows_bars_or_plain_error(client, model_id):
    ok = client.post("/predict", files={"file": ("p.png", patterned_image())})
    assert ok.status_code == 200 and 'class="bar top"' in ok.text
    bad = client.post("/predict", files={"file": ("p.txt", b"hello")})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "not an image" in bad.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_cause_a_server_error(client, model_id, data):
    assert post_image(client, data).status_code < 500


def test_a_model_without_metrics_still_renders_everywhere(client, home, predict_server):
    bare = make_model_run(home / "runs", metrics={})
    assert bare in client.get("/").text
    with connect(f"{predict_server.ws_url}/ws", open_timeout=10) as ws:
        snapshot = ws.recv(timeout=30)
    assert f'value="{bare}"' in snapshot and "tinyvgg · demo · no test score" in snapshot


def test_a_burst_beyond_capacity_gets_503_with_retry_after(tmp_path):
    make_model_run(tmp_path / "runs")
    settings = Settings(home=tmp_path, max_pending_predictions=1, max_batch=1, batch_window_ms=300)
    with TestClient(create_app(settings), base_url=LOCAL) as burst_client:
        assert post_image(burst_client, patterned_image()).status_code == 200  # model loaded
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(
                pool.map(lambda _: post_image(burst_client, patterned_image()), range(8))
            )
    codes = [r.status_code for r in responses]
    assert 200 in codes and 503 in codes and all(c in (200, 503) for c in codes)
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.headers["retry-after"] == "1"
    assert "retry" in refused.json()["detail"]
