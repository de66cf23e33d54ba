"""The run queue's PostgreSQL for tests: one private server per test session (started once,
its schema built once into a template) and a fresh database per module, made from that
template in a fraction of a second, so that no module sees another's jobs."""

from __future__ import annotations

import itertools
from pathlib import Path

import psycopg
from procrastinate.schema import SchemaManager

from backend.services.private_postgres import PrivatePostgres

TEMPLATE = "queue_template"


class QueueDatabases:
    def __init__(self, root: Path) -> None:
        self.postgres = PrivatePostgres(root / "postgres")
        self._names = itertools.count(1)

    def start(self) -> None:
        self.postgres.start()
        self._execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as connection:
            connection.execute(SchemaManager.get_schema())

    def stop(self) -> None:
        self.postgres.stop()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.postgres.socket_dir}"

    def fresh(self) -> str:
        """The URL of a new database that holds procrastinate's empty tables."""
        name = f"queue_{next(self._names)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def _execute(self, statement: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(statement.encode())
