"""Trainer events through PostgreSQL, for runs a ``foodvision worker`` trains on another machine.

The worker keeps writing the run's folder in the shared run store (``events.jsonl`` and
``run.json``, as the server's own worker does): one writer per file, complete even while the
server is down. What the server cannot see from there is *when* something changed, so the worker
also inserts each event as a row keyed by ``(run_id, seq)`` (an event stored twice is refused by
the key, and ``seq`` orders them) and sends ``NOTIFY`` with the run id; the server LISTENs and
reads the rows it has not seen. Stop-and-keep reaches the worker the other way, as a ``NOTIFY``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import psycopg

from backend.services.hub import RunUpdate, ServerMessage
from backend.services.run_queue import QueueUnavailableError

log = logging.getLogger("foodvision.events")
EVENTS_CHANNEL = "foodvision_events"
STOP_CHANNEL = "foodvision_stop"
RECONNECT_SECONDS = 1.0
CONNECT_TIMEOUT = 10
SCHEMA_LOCK = 0x466F6F64  # one creator of the tables at a time
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS foodvision_events ("
    " run_id text NOT NULL, seq integer NOT NULL, event text NOT NULL,"
    " PRIMARY KEY (run_id, seq))",
    "CREATE TABLE IF NOT EXISTS foodvision_run_workers ("
    " run_id text PRIMARY KEY, worker text NOT NULL, taken_at timestamptz NOT NULL DEFAULT now())",
)

Connection = psycopg.AsyncConnection[tuple[object, ...]]


async def connect(url: str) -> Connection:
    """An autocommit connection to ``url``, the tables made on first use."""
    connection = await psycopg.AsyncConnection.connect(
        url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
    )
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in SCHEMA:
            await connection.execute(statement.encode())
    return connection


async def listen(
    url: str, channel: str, on_payload: Callable[[str], Awaitable[None]],
    on_connect: Callable[[], Awaitable[None]] | None = None,
) -> None:  # fmt: skip
    """Call ``on_payload`` for every NOTIFY on ``channel``, forever, reconnecting after a
    database outage (``on_connect`` runs after each connect, to catch up what was missed)."""
    while True:
        try:
            async with await connect(url) as connection:
                await connection.execute(f"LISTEN {channel}".encode())
                if on_connect is not None:
                    await on_connect()
                async for notify in connection.notifies():
                    await on_payload(notify.payload)
        except (psycopg.Error, OSError, QueueUnavailableError) as exc:
            log.warning("listening on %s: database lost (%s); retrying", channel, exc)
        await asyncio.sleep(RECONNECT_SECONDS)


class EventChannel:
    """The worker's side: run updates written in order, each once, despite database outages."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pending: deque[RunUpdate] = deque()
        self._arrived = asyncio.Event()
        self._written = asyncio.Event()

    def publish(self, message: ServerMessage) -> None:
        """Queued for the writer; never waits (the trainer's output keeps flowing)."""
        if isinstance(message, RunUpdate):
            self._pending.append(message)
            self._written.clear()
            self._arrived.set()

    async def drain(self) -> None:
        """Wait until every update published so far is in the database."""
        if self._pending:
            await self._written.wait()

    async def run(self) -> None:
        """Write the queued updates, forever. The one at the head leaves the queue only once
        written, so an update a lost database refused is written again after reconnecting."""
        while True:
            try:
                async with await connect(self.url) as connection:
                    while True:
                        while not self._pending:
                            self._written.set()
                            self._arrived.clear()
                            await self._arrived.wait()
                        await _write(connection, self._pending[0])
                        self._pending.popleft()
            except (psycopg.Error, OSError) as exc:
                log.warning("event channel: database lost (%s); retrying", exc)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def claim(self, run_id: str, worker: str) -> None:
        """Note which worker trains the run (named when its worker stops answering)."""
        async with await connect(self.url) as connection:
            await connection.execute(
                "INSERT INTO foodvision_run_workers (run_id, worker) VALUES (%s, %s) "
                "ON CONFLICT (run_id) DO UPDATE SET worker = excluded.worker, taken_at = now()",
                (run_id, worker),
            )


async def _write(connection: Connection, update: RunUpdate) -> None:
    async with connection.transaction():
        if update.event is not None and update.seq is not None:
            await connection.execute(
                "INSERT INTO foodvision_events (run_id, seq, event) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (update.record.id, update.seq, update.event.encode()),
            )
        await connection.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, update.record.id))
