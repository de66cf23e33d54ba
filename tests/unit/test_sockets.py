"""Serving one WebSocket: a client that stops taking messages is dropped after the send
timeout, without a closing handshake that would wait on the same full buffer."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fastapi import WebSocket

from backend.web.sockets import send_within, serve_until_disconnect


class StalledSocket:
    """A client whose buffers are full: sending never completes, nothing is ever received."""

    def __init__(self) -> None:
        self.closed = False

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self, code: int = 1000) -> None:
        self.closed = True


async def test_a_stalled_client_is_dropped_without_a_close() -> None:
    socket = StalledSocket()
    websocket = cast(WebSocket, socket)

    async def stream() -> None:
        while True:
            await send_within(websocket, "<div id='run-panel'></div>", timeout=0.1)

    await asyncio.wait_for(serve_until_disconnect(websocket, stream), timeout=5)
    assert not socket.closed


async def test_a_finished_stream_closes_the_socket() -> None:
    socket = StalledSocket()

    async def stream() -> None:
        return None

    await asyncio.wait_for(serve_until_disconnect(cast(WebSocket, socket), stream), timeout=5)
    assert socket.closed
