"""WebSockets through flask-sock: the page's fragment stream (``/ws``) and one run's JSON
events, each the same stream as the FastAPI layer's (``backend.web.streams``).

The stream runs on the services' loop and hands each message to the request's thread, which
writes it to the socket: a slow client holds up only its own thread. A message left untaken
past the send timeout drops the client without a closing handshake (which would wait on the
same full buffer), as the FastAPI layer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from flask import Blueprint, Response, request
from flask_sock import Sock
from simple_websocket import Server

from backend.flask_web.context import service_loop, services
from backend.web.sockets import Stalled
from backend.web.streams import Send, page_stream, run_event_stream

sockets = Blueprint("sockets", __name__)
sock = Sock()
BACKLOG = 8  # messages handed over but not yet written
POLL_SECONDS = 0.25  # how often a waiting thread looks whether its client or the server left
log = logging.getLogger("foodvision.server")
Stream = Callable[[Send], Coroutine[Any, Any, None]]


@sockets.before_request
def refuse_unknown_run() -> Response | None:
    """A socket for a run that does not exist is refused before the handshake (403)."""
    run_id = (request.view_args or {}).get("run_id")
    if run_id is not None and services().store.find(run_id) is None:
        return Response(f"no run {run_id[:80]!r}", status=403)
    return None


@sock.route("/ws", bp=sockets)  # type: ignore[untyped-decorator]
def page_socket(ws: Server) -> None:
    """The page's live regions: a snapshot, then the fragments each update changes."""
    feed = service_loop().feed
    relay(ws, lambda send: page_stream(feed, send))


@sock.route("/api/runs/<run_id>/events", bp=sockets)  # type: ignore[untyped-decorator]
def run_events(ws: Server, run_id: str) -> None:
    """Every event of the run: the stored ones, then live ones; closes after the final one."""
    found = services()
    relay(ws, lambda send: run_event_stream(found, run_id, send))


def relay(ws: Server, stream: Stream) -> None:
    """Write what ``stream`` sends until it ends, the client leaves or the server stops."""
    loop = service_loop()
    outbox: queue.Queue[str] = queue.Queue(BACKLOG)
    timeout = loop.settings.send_timeout_seconds
    with services().metrics.websockets.track_inprogress():
        future = loop.submit(stream(_handing_over(outbox, timeout, lambda: _abort(ws))))
        try:
            while ws.connected and not loop.stopping.is_set():
                try:
                    ws.send(outbox.get(timeout=POLL_SECONDS))
                except queue.Empty:
                    if future.done():
                        break
        finally:
            future.cancel()
    if future.done() and not future.cancelled() and future.exception() is not None:
        log.info("dropping a WebSocket client: %s", future.exception())


def _handing_over(outbox: queue.Queue[str], timeout: float, abort: Callable[[], None]) -> Send:
    """``send`` for the loop: hand the message to the socket's thread, or, when the client
    has left it untaken for ``timeout`` seconds, abort the connection and raise Stalled."""

    async def send(text: str) -> None:
        waited = 0.0
        while True:
            try:
                outbox.put_nowait(text)
                return
            except queue.Full:
                if waited >= timeout:
                    abort()
                    raise Stalled(f"a message stayed unread for {timeout:g} s") from None
            await asyncio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS

    return send


def _abort(ws: Server) -> None:
    """Cut the connection at once: a closing handshake would wait on the full buffer."""
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
