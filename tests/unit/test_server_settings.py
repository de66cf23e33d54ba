"""``foodvision serve`` refuses limits that make no sense, naming the setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.cli import main
from backend.server import serve
from food_vision.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no .env of the caller's
    monkeypatch.setenv("FOODVISION_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HEADER_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("HEADER_TIMEOUT_SECONDS", "soon", "valid number"),
        ("BODY_TIMEOUT_SECONDS", "-5", "greater than 0"),
        ("BODY_TIMEOUT_SECONDS", "7200", "less than or equal to 3600"),
        ("SEND_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("MAX_CONNECTIONS", "2", "greater than or equal to 8"),
        ("MAX_CONNECTIONS", "many", "valid integer"),
        ("FRAMEWORK", "django", "'fastapi' or 'flask'"),
        ("INFERENCE_ENGINE", "tensorrt", "'onnxruntime' or 'torch'"),
        ("LONE_PREDICTION_THREADS", "0", "greater than or equal to 1"),
        ("LONE_PREDICTION_THREADS", "all", "valid integer"),
    ],
)
def test_a_bad_limit_stops_serve_with_its_name(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(f"FOODVISION_{name}", value)
    assert serve(port=1) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: FOODVISION_{name}: ")
    assert message in error


def test_an_unknown_framework_flag_is_refused_with_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--framework", "django"])
    assert exit_info.value.code == 2
    assert "choose from 'fastapi', 'flask'" in capsys.readouterr().err
