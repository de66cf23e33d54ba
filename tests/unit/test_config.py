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
        ({"validation_fraction": 0.6}, "validation_fraction", "between 0 and 0.5"),
        ({"validation_fraction": -0.1}, "validation_fraction", "between 0 and 0.5"),
        ({"validation_fraction": math.nan}, "validation_fraction", "finite"),
        ({"validation_fraction": "some"}, "validation_fraction", "number"),
        ({"patience": -1}, "patience", "between 0 and 500"),
        ({"patience": 1.5}, "patience", "whole number"),
        ({"feature_views": 0}, "feature_views", "between 1 and 16"),
        ({"label_smoothing": 0.9}, "label_smoothing", "between 0 and 0.5"),
        ({"weight_decay": math.inf}, "weight_decay", "finite"),
        ({"weight_decay": True}, "weight_decay", "number"),
        ({"augment": "sometimes"}, "augment", "true or false"),
        ({"fine_tune_blocks": -1}, "fine_tune_blocks", "between 0 and 100"),
        ({"fine_tune_blocks": 2}, "fine_tune_blocks", "needs a pretrained model"),
        (
            {"architecture": "efficientnet_lite0", "fine_tune_blocks": 2, "pretrained": False},
            "fine_tune_blocks",
            "needs a pretrained model",
        ),
        (
            {"architecture": "efficientnet_lite0", "fine_tune_blocks": 19},
            "fine_tune_blocks",
            "efficientnet_lite0 has 18 blocks",
        ),
    ],
)
def test_bad_values_name_their_field(changes, field, text):
    with pytest.raises(ConfigError, match=text) as info:
        config(**changes)
    assert info.value.field == field


def test_fine_tuning_a_pretrained_model_is_accepted():
    lite = config(architecture="efficientnet_lite0", fine_tune_blocks=18)
    assert (lite.pretrained, lite.fine_tune_blocks) == (True, 18)
    mobile = config(architecture="mobilenet_v3_small", pretrained=True, fine_tune_blocks=2)
    assert mobile.fine_tune_blocks == 2
