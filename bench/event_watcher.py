"""Live events of one run, followed over its WebSocket the way a browser does."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.utils.server import AppServer


class EventWatcher:
    """Follows ``/api/runs/{id}/events`` on a thread; keeps (receive time, event) pairs."""

    def __init__(self, server: AppServer, run_id: str) -> None:
        from websockets.sync.client import connect

        self.received: list[tuple[float, dict[str, Any]]] = []
        self.connected_at = time.time()
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._closed = False
        self._socket = connect(f"{server.ws_url}/api/runs/{run_id}/events", open_timeout=30)
        self.connected_at = time.time()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for message in self._socket:
                received = time.time()
                with self._changed:
                    self.received.append((received, json.loads(message)))
                    self._changed.notify_all()
        except Exception as exc:  # the connection dropped: report it to the waiter
            self.error = exc
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """The first event matching ``predicate``; raises if none arrives in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for _, event in self.received:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    types = [e["type"] for _, e in self.received][-5:]
                    raise RuntimeError(f"event not seen (closed={self._closed}, last {types})")
                self._changed.wait(left)

    def wait_final(self, timeout: float) -> dict[str, Any]:
        return self.wait_for(lambda e: e["type"] in ("completed", "cancelled", "failed"), timeout)

    def events(self, *types: str) -> list[dict[str, Any]]:
        with self._changed:
            return [event for _, event in self.received if not types or event["type"] in types]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._socket.close()
        self._thread.join(5)
