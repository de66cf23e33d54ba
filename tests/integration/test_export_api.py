"""GET /api/runs/{id}/export on a real server: a verified zip, built once, with clear refusals."""

from __future__ import annotations

import concurrent.futures
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from food_vision.runs import RunRecord, RunStatus, new_run_id, write_run
from tests.utils.factories import make_model_run
from tests.utils.server import AppServer


@pytest.fixture(scope="module")
def exporting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, str, str]]:
    home = tmp_path_factory.mktemp("export-home")
    model_run = make_model_run(home / "runs")
    failed = new_run_id()
    (home / "runs" / failed).mkdir()
    write_run(home / "runs" / failed, RunRecord(failed, RunStatus.FAILED, {"dataset": "demo"}))
    server = AppServer(home)
    server.start()
    yield server, model_run, failed
    server.stop()


def test_the_export_is_a_verified_zip_built_once(exporting: tuple[AppServer, str, str]) -> None:
    server, run_id, _ = exporting
    url = f"{server.url}/api/runs/{run_id}/export?format=onnx"
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: httpx.get(url, timeout=300), range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].headers["content-type"] == "application/zip"
    assert f'filename="{run_id}-onnx.zip"' in responses[0].headers["content-disposition"]
    bodies = {r.content for r in responses}
    assert len(bodies) == 1, "concurrent requests built the export more than once"
    with zipfile.ZipFile(io.BytesIO(bodies.pop())) as archive:
        check = json.loads(archive.read("verification.json"))
        assert "predict.py" in archive.namelist() and "model.onnx" in archive.namelist()
    assert check["top1_agreement"] == 1.0
    again = httpx.get(url, timeout=60)
    assert again.content == responses[0].content  # served from the run's cache


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/api/runs/20261126-000000-abcdef/export", 404, "no run"),
        ("/api/runs/../../etc/export", 404, ""),
        ("/api/runs/{failed}/export", 409, "has no model to export"),
        ("/api/runs/{run}/export?format=tflite", 422, ""),
    ],
)
def test_bad_export_requests_are_refused_clearly(
    exporting: tuple[AppServer, str, str], path: str, status: int, text: str
) -> None:
    server, run_id, failed = exporting
    response = httpx.get(server.url + path.format(run=run_id, failed=failed), timeout=60)
    assert response.status_code == status
    assert text in json.dumps(response.json())


def test_the_cache_lives_in_the_run_folder(exporting: tuple[AppServer, str, str]) -> None:
    server, run_id, _ = exporting
    httpx.get(f"{server.url}/api/runs/{run_id}/export", timeout=300)
    assert (Path(server.home) / "runs" / run_id / "exports" / "onnx.zip").is_file()
