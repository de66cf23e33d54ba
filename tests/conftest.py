"""Fixtures shared by every test layer. Helpers live in ``tests/utils``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that ``tests.utils`` imports under a bare ``pytest`` too
    sys.path.insert(0, str(ROOT))

from tests.utils.http_server import LocalHTTPServer, serve_files  # noqa: E402


@pytest.fixture
def fv_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty FOODVISION_HOME (data dir inside it) for this test only."""
    home = tmp_path / "fvhome"
    home.mkdir()
    monkeypatch.setenv("FOODVISION_HOME", str(home))
    monkeypatch.setenv("FOODVISION_DATA_DIR", str(home / "data"))
    return home


@pytest.fixture
def http_files() -> Iterator[LocalHTTPServer]:
    """A local HTTP server on 127.0.0.1; put bytes in ``.files[path]``, read ``.hits``."""
    with serve_files() as server:
        yield server


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the full demo dataset, generated once through the registry (~5 s)."""
    from food_vision.datasets.registry import resolve_dataset

    data_dir = tmp_path_factory.mktemp("demo-data")
    resolve_dataset("demo", data_dir)
    return data_dir
