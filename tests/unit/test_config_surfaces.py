"""Every training option reaches every surface: the API schema, the page form, the CLI help
and the trainer's config file all carry exactly the fields of ``TrainConfig``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backend.app import create_app
from backend.web import render
from backend.web.train_form import (
    SWEEP_CHOICES,
    default_values,
    offered_fields,
    parse_train_form,
)
from food_vision.config import TrainConfig
from food_vision.launch import machine_processes
from food_vision.settings import Settings
from food_vision.train_args import build_parser, load_config, parse_command_line

FIELDS = set(TrainConfig.model_fields)


def api_fields() -> set[str]:
    schema = create_app(Settings()).openapi()
    body = schema["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    return set(schema["components"]["schemas"][name]["properties"])


def form_fields() -> set[str]:
    html = render.render("train_form", values=default_values(), errors={}, datasets=[])
    names = set(re.findall(r'<(?:input|select)[^>]*\bname="([a-z_]+)"', html))
    return names - set(SWEEP_CHOICES)  # a sweep's extra values, not options of their own


def cli_fields() -> set[str]:
    help_text = build_parser().format_help()
    training = help_text.split("what to train", 1)[1].split("how to run", 1)[0]
    flags = re.findall(r"^  --([a-z-]+)", training, flags=re.MULTILINE)
    return {flag.replace("-", "_") for flag in flags}


def test_api_form_and_cli_carry_the_same_fields() -> None:
    assert api_fields() == FIELDS
    assert form_fields() == {field.name for field in offered_fields(machine_processes())}
    assert cli_fields() == FIELDS


def test_the_form_offers_processes_only_where_more_than_one_can_run() -> None:
    assert {field.name for field in offered_fields(2)} == FIELDS - {"parent"}
    assert {field.name for field in offered_fields(1)} == FIELDS - {"processes", "parent"}


def test_form_limits_come_from_the_config() -> None:
    html = render.render("train_form", values=default_values(), errors={}, datasets=[])
    epochs = re.search(r'<input id="f-epochs"[^>]*>', html, flags=re.DOTALL)
    assert epochs is not None
    assert 'min="1"' in epochs.group() and 'max="500"' in epochs.group()
    assert 'value="10"' in epochs.group()


def test_form_reports_every_wrong_field_at_once() -> None:
    config, errors = parse_train_form(
        {"dataset": "demo", "architecture": "tinyvgg", "epochs": "0", "learning_rate": "fast",
         "batch_size": "0", "seed": "0"}
    )  # fmt: skip
    assert config is None
    assert errors == {
        "epochs": "must be between 1 and 500",
        "learning_rate": "Enter a number.",
        "batch_size": "must be between 1 and 1024",
    }


def test_config_file_and_flags_make_one_config(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"dataset": "demo", "architecture": "tinyvgg", "epochs": 7}))
    options, given = parse_command_line(["--config", str(path), "--lr", "0.01"])
    config = load_config(options, given)
    assert (config.epochs, config.learning_rate, config.image_size) == (7, 0.01, 64)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"epochs": 0}', "epochs: must be between 1 and 500"),
        ('{"surprise": 1}', "surprise: is not a training option"),
    ],
)
def test_bad_config_files_are_refused_with_the_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    options, given = parse_command_line(["--config", str(path)])
    with pytest.raises(ValueError, match=message):
        load_config(options, given)


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    options, given = parse_command_line(["--config", str(tmp_path / "nope.json")])
    with pytest.raises(ValueError, match="config: cannot read"):
        load_config(options, given)
