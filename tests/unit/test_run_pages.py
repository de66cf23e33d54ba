"""A past run on the page: its own address (a fragment for htmx, the whole page otherwise),
deleting it (and the news reaching every page), and choices refused before a run starts
when their download cannot be made."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.services.datasets import DatasetInfo
from backend.services.downloads import DownloadCheck
from backend.services.hub import RunsChanged
from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.registry import DatasetEntry
from food_vision.runs import RunRecord, RunStatus, new_run_id, write_run
from food_vision.settings import Settings
from tests.utils.factories import make_model_run
from tests.utils.server import HOST, TEST_CLIENT_HOSTS, free_port

HTMX = {"HX-Request": "true"}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    nowhere = f"http://{HOST}:{free_port()}"  # downloads reach nothing, and nothing outside
    monkeypatch.setenv("FOODVISION_WEIGHTS_MIRROR", f"{nowhere}/models/")
    monkeypatch.setenv("FOODVISION_DATASETS_MIRROR", f"{nowhere}/data/")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    settings = Settings(home=tmp_path, allowed_hosts=TEST_CLIENT_HOSTS)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def runs_dir(client: TestClient) -> Path:
    path: Path = client.app.state.services.settings.runs_dir  # type: ignore[attr-defined]
    return path


def test_a_run_has_its_own_address(client: TestClient) -> None:
    run_id = make_model_run(runs_dir(client))
    fragment = client.get(f"/runs/{run_id}", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="run-detail"' in fragment.text and run_id in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    for headers in ({}, {**HTMX, "HX-History-Restore-Request": "true"}):
        page = client.get(f"/runs/{run_id}", headers=headers)
        assert page.status_code == 200 and page.text.startswith("<!doctype html>")
        assert '<link rel="stylesheet" href="/static/app.css">' in page.text
        assert 'id="detail-title"' in page.text and "Delete this run" in page.text
        assert page.headers["vary"] == "HX-Request"


@pytest.mark.parametrize("run_id", ["20990101-000000-abcdef", "NOT-A-RUN", "..%2F..%2Fetc"])
def test_an_unknown_run_is_404_to_view_and_to_delete(client: TestClient, run_id: str) -> None:
    assert client.get(f"/runs/{run_id}").status_code == 404
    assert client.post(f"/runs/{run_id}/delete", headers=HTMX).status_code == 404


def test_deleting_from_the_page(client: TestClient) -> None:
    kept, doomed, by_form = (make_model_run(runs_dir(client), seed=n) for n in range(3))
    answer = client.post(f"/runs/{doomed}/delete", headers=HTMX)
    assert answer.status_code == 200 and f"Run {doomed} deleted." in answer.text
    assert answer.headers["hx-push-url"] == "/"
    without_js = client.post(f"/runs/{by_form}/delete", follow_redirects=False)
    assert without_js.status_code == 303 and without_js.headers["location"] == "/"
    assert [run["id"] for run in client.get("/api/runs").json()] == [kept]


def test_an_active_run_is_not_deleted_and_the_page_says_why(client: TestClient) -> None:
    run_id = new_run_id()
    folder = runs_dir(client) / run_id
    folder.mkdir(parents=True)
    write_run(folder, RunRecord(run_id, RunStatus.RUNNING, {"dataset": "demo", "epochs": 1}))
    answer = client.post(f"/runs/{run_id}/delete", headers=HTMX)
    assert answer.status_code == 200
    assert "still active: cancel it first" in answer.text
    assert folder.is_dir()


def test_a_download_that_cannot_be_made_is_refused_in_the_form(client: TestClient) -> None:
    form = {"dataset": "demo", "architecture": "mobilenet_v3_small", "pretrained": "on"}
    answer = client.post("/runs", data=form, headers=HTMX)
    assert answer.status_code == 200
    assert (
        'id="e-pretrained"' in answer.text and "Untick “Start from ImageNet weights”" in answer.text
    )
    api = client.post("/api/runs", json={**form, "pretrained": True})
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["body", "pretrained"]
    dataset = client.post(
        "/api/runs", json={"dataset": "pizza_steak_sushi", "architecture": "tinyvgg"}
    )
    assert dataset.status_code == 422 and "16 MB download" in dataset.json()["detail"][0]["msg"]
    assert client.get("/api/runs").json() == []


def test_deleting_a_run_tells_every_page(tmp_path: Path) -> None:
    async def scenario() -> None:
        from backend.services.container import Services

        services = Services.create(Settings(home=tmp_path))
        await services.start()
        run_id = make_model_run(services.settings.runs_dir)
        async with services.hub.subscribe() as news:
            await services.runs.delete(services.store.get(run_id))
            assert isinstance(await asyncio.wait_for(news.get(), 5), RunsChanged)
        await services.stop()

    asyncio.run(scenario())


class Probe:
    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable
        self.asked: list[str] = []

    async def __call__(self, url: str) -> bool:
        self.asked.append(url)
        return self.reachable


def dataset(name: str, available: bool) -> DatasetInfo:
    return DatasetInfo(DatasetEntry(name, name, "archive", Path("/x"), available))


@pytest.fixture
def empty_torch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("FOODVISION_WEIGHTS_MIRROR", raising=False)


async def test_downloads_are_checked_once_per_host_and_only_when_needed(
    empty_torch_cache: None,
) -> None:
    offline = Probe(reachable=False)
    check = DownloadCheck(offline)
    weights = TrainConfig(dataset="demo", architecture="efficientnet_b0", pretrained=True)
    for _ in range(2):
        with pytest.raises(ConfigError) as refused:
            await check.refuse_impossible(weights, dataset("demo", True))
        assert refused.value.field == "pretrained"
    assert offline.asked == [
        "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth"
    ]

    needs_nothing = [
        TrainConfig(dataset="demo", architecture="efficientnet_b0", pretrained=False),
        TrainConfig(dataset="demo", architecture="efficientnet_lite0"),
        TrainConfig(dataset="pizza_steak_sushi", architecture="tinyvgg"),
    ]
    for config in needs_nothing:
        await check.refuse_impossible(config, dataset(config.dataset, True))
    assert len(offline.asked) == 1

    online = DownloadCheck(Probe(reachable=True))
    await online.refuse_impossible(weights, dataset("demo", True))
    await online.refuse_impossible(needs_nothing[2], dataset("pizza_steak_sushi", False))
    with pytest.raises(ConfigError) as refused:
        await check.refuse_impossible(needs_nothing[2], dataset("pizza_steak_sushi", False))
    assert refused.value.field == "dataset" and "demo dataset" in refused.value.message
