"""Fixtures shared by every test layer. Helpers live in ``tests/utils``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.http_server import LocalHTTPServer, serve_files


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
