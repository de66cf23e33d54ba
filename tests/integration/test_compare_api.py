"""GET /api/compare and the page's /compare on a real server, with their bad inputs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from food_vision.runs import read_run, write_run
from tests.utils.factories import make_model_run
from tests.utils.server import AppServer


@pytest.fixture(scope="module")
def comparing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, list[str]]]:
    home = tmp_path_factory.mktemp("compare-home")
    ids = []
    for seed, (lr, acc) in enumerate([(0.001, 0.5), (0.01, 0.8), (0.1, 0.7)]):
        run_id = make_model_run(home / "runs", seed=seed, metrics={"test_acc": acc})
        record = read_run(home / "runs" / run_id)
        assert record is not None
        config = {**record.config, "learning_rate": lr}
        changed = record.evolve(config=config, metrics={"test_acc": acc})
        write_run(home / "runs" / run_id, changed)
        ids.append(run_id)
    server = AppServer(home)
    server.start()
    yield server, ids
    server.stop()


def test_the_comparison_lists_differences_and_the_best(
    comparing: tuple[AppServer, list[str]],
) -> None:
    server, ids = comparing
    response = httpx.get(f"{server.url}/api/compare", params={"ids": ",".join(ids)})
    assert response.status_code == 200
    body = response.json()
    assert [run["id"] for run in body["runs"]] == ids
    assert body["differences"] == {"learning_rate": [0.001, 0.01, 0.1]}
    assert body["best"] == ids[1]
    repeated = httpx.get(f"{server.url}/api/compare", params=[("ids", ids[0]), ("ids", ids[2])])
    assert [run["id"] for run in repeated.json()["runs"]] == [ids[0], ids[2]]


def test_the_page_shows_the_comparison(comparing: tuple[AppServer, list[str]]) -> None:
    server, ids = comparing
    html = httpx.get(f"{server.url}/compare", params={"ids": ids[:2]}).text
    assert "Comparing 2 runs" in html and 'id="compare-acc"' in html
    assert html.count('class="key run-') == 4  # two charts, two runs each


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("", 422, ""),
        ("ids={0}", 422, "pick 2 to 8 different runs"),
        ("ids={0},{0}", 422, "pick 2 to 8 different runs"),
        ("ids={0},20261126-000000-abcdef", 404, "no run"),
        ("ids={0},../../etc", 404, "no run"),
    ],
)
def test_bad_comparisons_are_refused_clearly(
    comparing: tuple[AppServer, list[str]], query: str, status: int, text: str
) -> None:
    server, ids = comparing
    for path in ("/api/compare", "/compare"):
        response = httpx.get(f"{server.url}{path}?{query.format(*ids)}")
        assert response.status_code == status
        assert text in response.text
