"""Fixtures shared by every test layer. Helpers live in ``tests/utils``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.http_server import LocalHTTPServer, serve_files
from tests.utils.queue_db import QueueDatabases


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


@pytest.fixture(scope="session")
def queue_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueDatabases]:
    """One PostgreSQL for the session's run queues (started once, ~5 s)."""
    databases = QueueDatabases(tmp_path_factory.mktemp("queue"))
    databases.start()
    yield databases
    databases.stop()


@pytest.fixture(scope="module")
def queue_database(queue_databases: QueueDatabases) -> Iterator[str]:
    """A fresh queue database for this module's apps, named by FOODVISION_DATABASE_URL (servers
    started as subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        url = queue_databases.fresh()
        patch.setenv("FOODVISION_DATABASE_URL", url)
        yield url
