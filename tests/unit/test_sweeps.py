"""A sweep's combinations: every product of the values, checked before anything is queued."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from backend.services.sweeps import MAX_COMBINATIONS, Sweep, combinations, group_sweeps
from backend.web.train_form import parse_sweep_choices
from food_vision.config import ConfigError, TrainConfig
from food_vision.runs import RunRecord, RunStatus

BASE = {"dataset": "tiny", "architecture": "tinyvgg", "epochs": 1}


def test_one_config_per_combination_in_a_stable_order() -> None:
    configs = combinations(BASE, {"architecture": ["tinyvgg", "mobilenet_v3_small"],
                                  "learning_rate": [0.01, 0.001]})  # fmt: skip
    assert [(c.architecture, c.learning_rate) for c in configs] == [
        ("tinyvgg", 0.01), ("tinyvgg", 0.001),
        ("mobilenet_v3_small", 0.01), ("mobilenet_v3_small", 0.001),
    ]  # fmt: skip
    assert all(c.dataset == "tiny" and c.epochs == 1 for c in configs)


@pytest.mark.parametrize(
    ("vary", "field", "words"),
    [
        ({"optimizer": ["adam"]}, "vary.optimizer", "can be swept"),
        ({"learning_rate": []}, "vary.learning_rate", "at least one value"),
        ({"seed": list(range(MAX_COMBINATIONS + 1))}, "vary", "at most"),
        ({"learning_rate": [0.01, -1]}, "learning_rate", ""),
        ({"architecture": ["nope"]}, "architecture", ""),
    ],
)
def test_a_bad_sweep_names_what_is_wrong(vary: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        combinations(BASE, vary)
    assert caught.value.field == field and words in caught.value.message


def form(**fields: str | list[str]) -> FormData:
    items = [(name, value) for name, values in fields.items()
             for value in ([values] if isinstance(values, str) else values)]  # fmt: skip
    return FormData(items)


def test_the_form_asks_for_one_run_unless_it_ticks_or_types_more() -> None:
    config = TrainConfig.parse(BASE)
    assert parse_sweep_choices(form(), config) == ({}, {}, {})
    assert parse_sweep_choices(form(also_architecture="tinyvgg"), config) == ({}, {}, {})


def test_the_form_sweeps_its_own_choice_and_the_ticked_ones() -> None:
    config = TrainConfig.parse({**BASE, "learning_rate": 0.01})
    chosen = form(also_architecture=["mobilenet_v3_small", "tinyvgg"],
                  also_learning_rate="0.001, 0.03 0.01", pretrained="on")  # fmt: skip
    base, vary, errors = parse_sweep_choices(chosen, config)
    assert errors == {}
    assert vary == {"architecture": ["tinyvgg", "mobilenet_v3_small"],
                    "learning_rate": [0.01, 0.001, 0.03]}  # fmt: skip
    assert base["pretrained"] is None  # weights for the models that have them
    assert len(combinations(base, vary)) == 6
    unticked = parse_sweep_choices(form(also_architecture="mobilenet_v3_small"), config)[0]
    assert unticked["pretrained"] is False


@pytest.mark.parametrize(
    ("fields", "name", "words"),
    [
        ({"also_learning_rate": "0.01, fast"}, "also_learning_rate", "'fast' is not a number"),
        ({"also_architecture": "resnet9000"}, "also_architecture", "unknown model"),
    ],
)
def test_the_form_names_a_wrong_choice(fields: dict[str, str], name: str, words: str) -> None:
    base, vary, errors = parse_sweep_choices(form(**fields), TrainConfig.parse(BASE))
    assert (base, vary) == ({}, {}) and words in errors[name]


def test_past_runs_gather_each_sweep_where_its_newest_run_stands() -> None:
    def run(name: str, sweep: str | None = None) -> RunRecord:
        return RunRecord(f"20260101-00000{name}-abcdef", RunStatus.COMPLETED, BASE, sweep=sweep)

    records = [run("1"), run("2", "s1"), run("3"), run("4", "s1"), run("5", "s2")]
    entries = group_sweeps(records)
    assert [e.id for e in entries] == [records[0].id, "s1", records[2].id, "s2"]
    first_sweep = entries[1]
    assert isinstance(first_sweep, Sweep) and first_sweep.runs == [records[3], records[1]]
    assert first_sweep.compare_link == f"/compare?ids={records[3].id}&ids={records[1].id}"
