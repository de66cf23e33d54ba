"""A sweep's combinations: every product of the values, checked before anything is queued."""

from __future__ import annotations

import pytest

from backend.services.sweeps import MAX_COMBINATIONS, combinations
from food_vision.config import ConfigError

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
