"""Comparing runs: which options differ, which run is best, how many runs may be compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.services.comparison import (
    ComparisonError,
    best_run,
    compare_runs,
    config_differences,
)
from backend.services.container import Services
from backend.services.run_view import RunView
from food_vision.runs import RunRecord, RunStatus, write_run
from food_vision.settings import Settings
from tests.utils.factories import make_model_run


def view(run_id: str, config: dict[str, object], test_acc: float | None) -> RunView:
    metrics = {} if test_acc is None else {"test_acc": test_acc}
    return RunView(RunRecord(run_id, RunStatus.COMPLETED, config, metrics=metrics))


def test_only_options_that_differ_are_listed() -> None:
    views = [
        view("a", {"architecture": "tinyvgg", "learning_rate": 0.001, "epochs": 3}, 0.5),
        view("b", {"architecture": "tinyvgg", "learning_rate": 0.01, "epochs": 3}, 0.6),
        view("c", {"architecture": "tinyvgg", "learning_rate": 0.01}, 0.6),
    ]
    assert config_differences(views) == {
        "epochs": [3, 3, None],
        "learning_rate": [0.001, 0.01, 0.01],
    }


def test_the_best_run_has_the_highest_final_test_accuracy_earliest_first() -> None:
    views = [view("a", {}, 0.5), view("b", {}, 0.9), view("c", {}, 0.9), view("d", {}, None)]
    assert best_run(views) == "b"
    assert best_run([view("x", {}, None), view("y", {}, float("nan"))]) is None


@pytest.mark.parametrize("count", [0, 1, 9])
async def test_two_to_eight_runs_can_be_compared(tmp_path: Path, count: int) -> None:
    services = Services.create(Settings(home=tmp_path))
    ids = [make_model_run(tmp_path / "runs", seed=i) for i in range(count)]
    with pytest.raises(ComparisonError, match="pick 2 to 8 different runs"):
        await compare_runs(services.runs, ids)
    services.inference.close()


async def test_runs_are_compared_in_the_order_given(tmp_path: Path) -> None:
    services = Services.create(Settings(home=tmp_path))
    first, second = (make_model_run(tmp_path / "runs", seed=i) for i in range(2))
    record = RunRecord(second, RunStatus.COMPLETED, {"learning_rate": 0.5}, has_model=True)
    write_run(tmp_path / "runs" / second, record)
    result = await compare_runs(services.runs, [second, first, second])
    assert [v.id for v in result.views] == [second, first]
    assert "learning_rate" in result.differences
    services.inference.close()
