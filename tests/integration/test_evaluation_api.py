"""A run's evaluation on a real server: made on demand, read back, its cells' photos served
small, and clear refusals for everything else."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import httpx
import pytest
from PIL import Image

from food_vision.datasets.demo import generate_demo
from food_vision.runs import RunRecord, RunStatus, new_run_id, read_run, write_run
from tests.utils.factories import make_bundle, make_model_run
from tests.utils.server import AppServer

CLASSES = ["pizza", "steak", "sushi"]


@pytest.fixture(scope="module")
def evaluating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, str, str]]:
    home = tmp_path_factory.mktemp("evaluation-home")
    generate_demo(home / "data" / "tiny", train_per_class=1, test_per_class=3, size=96)
    run_id = make_model_run(home / "runs")
    make_bundle(home / "runs" / run_id, classes=CLASSES, dataset="tiny")
    record = read_run(home / "runs" / run_id)
    assert record is not None
    write_run(home / "runs" / run_id, record.evolve(config={**record.config, "dataset": "tiny"}))
    failed = new_run_id()
    (home / "runs" / failed).mkdir()
    write_run(home / "runs" / failed, RunRecord(failed, RunStatus.FAILED, {"dataset": "tiny"}))
    server = AppServer(home)
    server.start()
    yield server, run_id, failed
    server.stop()


def test_an_evaluation_is_made_on_demand_and_read_back(
    evaluating: tuple[AppServer, str, str],
) -> None:
    server, run_id, _ = evaluating
    url = f"{server.url}/api/runs/{run_id}"
    if httpx.get(url + "/evaluation").status_code == 404:
        assert "no evaluation yet" in httpx.get(url + "/evaluation").json()["detail"]
    made = httpx.post(url + "/evaluate", timeout=120)
    assert made.status_code == 200
    stored = httpx.get(url + "/evaluation").json()
    assert stored["classes"] == CLASSES
    assert sum(map(sum, stored["confusion"])) == 9 == len(stored["samples"])
    assert set(stored["samples"][0]) == {"image", "true", "predicted", "probability", "top", "loss"}
    page = httpx.get(f"{server.url}/runs/{run_id}").text
    assert ('class="confusion' in page and "Most confused" in page) or "100.0%" in page


def test_a_cell_lists_its_photos_worst_first_with_small_thumbnails(
    evaluating: tuple[AppServer, str, str],
) -> None:
    server, run_id, _ = evaluating
    stored = httpx.post(f"{server.url}/api/runs/{run_id}/evaluate", timeout=120).json()
    first = stored["samples"][0]
    cell = httpx.get(
        f"{server.url}/runs/{run_id}/evaluation/cell",
        params={"true": first["true"], "predicted": first["predicted"]},
    )
    assert cell.status_code == 200 and "evaluation/photo?image=" in cell.text
    photo = httpx.get(
        f"{server.url}/runs/{run_id}/evaluation/photo", params={"image": first["image"]}
    )
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert max(Image.open(BytesIO(photo.content)).size) <= 160


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/runs/20261126-000000-abcdef/evaluation", 404),
        ("POST", "/api/runs/{failed}/evaluate", 409),
        ("GET", "/api/runs/{failed}/evaluation", 404),
        ("GET", "/runs/{run}/evaluation/photo?image=../../../etc/passwd", 404),
        ("GET", "/runs/{run}/evaluation/photo?image=train/pizza/000.jpg", 404),
        ("GET", "/runs/{run}/evaluation/photo", 422),
        ("GET", "/runs/{run}/evaluation/cell?true=pizza", 422),
    ],
)
def test_bad_evaluation_requests_are_refused_clearly(
    evaluating: tuple[AppServer, str, str], method: str, path: str, status: int
) -> None:
    server, run_id, failed = evaluating
    httpx.post(f"{server.url}/api/runs/{run_id}/evaluate", timeout=120)
    response = httpx.request(method, server.url + path.format(run=run_id, failed=failed))
    assert response.status_code == status
    assert response.json()["detail"]
