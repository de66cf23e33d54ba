"""What uvicorn leaves open at the connection level, closed by its own protocol classes:

- request headers have a deadline: a connection that opens and sends nothing, or trickles its
  headers in (slowloris), is closed instead of being held open for ever (a timer on the event
  loop, no worker or thread);
- the connection cap (``limit_concurrency``) refuses WebSocket handshakes too, which uvicorn
  lets through;
- a WebSocket whose client stopped reading is aborted, not closed: a close would wait for a
  full send buffer to drain, which never happens, and keep the connection for ever.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

REFUSAL = (
    b"HTTP/1.1 %s\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the headers of each request due within
    ``header_timeout`` seconds of the connection opening or the previous response ending, and
    WebSocket handshakes held to the connection cap."""

    header_timeout: ClassVar[float] = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    _request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._header_timer is None:  # a keep-alive connection's next request
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        """Refused like an HTTP request when the connections are at the cap."""
        if self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency:
            self._refuse(b"503 Service Unavailable", "too many open connections; retry later")
            return
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        """Close; with a 408 that says why when a request had begun to arrive."""
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._request_begun:
            message = f"request headers not received within {self.header_timeout:g} seconds"
            self._refuse(b"408 Request Timeout", message)
        else:
            self.transport.close()

    def _refuse(self, status: bytes, message: str) -> None:
        body = message.encode()
        self.transport.write(REFUSAL % (status, len(body), body))
        self.transport.close()


def guarded_protocol(header_timeout: float) -> type[GuardedHttpProtocol]:
    """The protocol class for uvicorn's ``http`` option, with this header deadline."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"header_timeout": header_timeout})


class StalledSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, aborting connections that cannot take any more data."""

    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self.writable.is_set():  # the app ended on a client that stopped reading
            self.transport.abort()

    def keepalive_timeout(self) -> None:
        """No pong in time: the client is gone or not reading; drop it with what is queued."""
        super().keepalive_timeout()
        self.transport.abort()
