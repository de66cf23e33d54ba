"""``foodvision worker`` refuses bad flags and an unreachable database with one ``error:`` line,
never a traceback (run in-process: the command's own code paths, without a second import of
the app per case)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.cli import main
from food_vision.settings import get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("FOODVISION_DATABASE_URL", "FOODVISION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOODVISION_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "two words"], "is not a worker name"),
        (["--name", ""], "is not a worker name"),
        (["--gpu", "first"], "is not a GPU index"),
        (["--gpu", "-1"], "is not a GPU index"),
        (["--gpu", "999"], "there is no GPU 999 on this machine"),
    ],
)
def test_bad_flags_are_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", *args])
    assert exited.value.code == 2
    assert message in error_line(capsys)


@pytest.mark.parametrize("database_url", [None, "postgresql://nobody@/queue?host={missing}"])
def test_an_unreachable_database_is_one_line(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str | None,
) -> None:
    if database_url:
        monkeypatch.setenv("FOODVISION_DATABASE_URL", database_url.format(missing=home / "no"))
        get_settings.cache_clear()
    assert main(["worker", "--name", "w1"]) == 2
    line = error_line(capsys)
    assert "cannot reach the run queue's database" in line
    hint = "FOODVISION_DATABASE_URL" if database_url else "start `foodvision serve`"
    assert hint in line
