from __future__ import annotations

import math

import pytest

from food_vision.config import ConfigError, TrainConfig


def config(**changes):
    base = {"dataset": "demo", "architecture": "tinyvgg"}
    return TrainConfig.parse({**base, **changes}).resolved()


def test_defaults_resolved_from_architecture():
    tiny = config()
    assert tiny.pretrained is False and tiny.image_size == 64
    lite = config(architecture="efficientnet_lite0")
    assert lite.pretrained is True and lite.image_size == 224
    mobile = config(architecture="mobilenet_v3_small")
    assert mobile.pretrained is False


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"dataset": " "}, "dataset", "required"),
        ({"architecture": "resnet9000"}, "architecture", "unknown architecture 'resnet9000'"),
        ({"epochs": 0}, "epochs", "between 1 and 500"),
        ({"epochs": 100_000}, "epochs", "between 1 and 500"),
        ({"epochs": 2.5}, "epochs", "whole number"),
        ({"epochs": True}, "epochs", "whole number"),
        ({"batch_size": 0}, "batch_size", "between 1 and 1024"),
        ({"learning_rate": math.nan}, "learning_rate", "finite"),
        ({"learning_rate": math.inf}, "learning_rate", "finite"),
        ({"learning_rate": -0.1}, "learning_rate", "above 0"),
        ({"learning_rate": 0}, "learning_rate", "above 0"),
        ({"image_size": 8}, "image_size", "between 32 and 1024"),
        ({"seed": -1}, "seed", "between"),
        ({"pretrained": True}, "pretrained", "tinyvgg has no pretrained weights"),
    ],
)
def test_bad_values_name_their_field(changes, field, text):
    with pytest.raises(ConfigError, match=text) as info:
        config(**changes)
    assert info.value.field == field
