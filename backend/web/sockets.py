"""Serving one WebSocket until either side is done: the server's stream ends, or the client
goes away; the other half is then cancelled and the socket closed cleanly. A client that
leaves messages unread past the send timeout is dropped without a closing handshake (which
would wait on the same full buffer); the server then aborts its connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

NORMAL_CLOSURE = 1000
log = logging.getLogger("foodvision.server")


class Stalled(Exception):
    """The client did not take a message within the send timeout."""


async def send_within(websocket: WebSocket, text: str, timeout: float) -> None:
    """Send ``text``; raise :class:`Stalled` if the client has not taken it in time."""
    try:
        async with asyncio.timeout(timeout):
            await websocket.send_text(text)
    except TimeoutError:
        raise Stalled(f"a message stayed unread for {timeout:g} s") from None


async def serve_until_disconnect(
    websocket: WebSocket, sender: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Run ``sender`` until it returns or the client goes away, whichever comes first."""

    async def wait_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    send_task = asyncio.create_task(sender())
    receive_task = asyncio.create_task(wait_disconnect())
    done, pending = await asyncio.wait({send_task, receive_task}, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await task
    if send_task in done and not send_task.cancelled():
        try:
            send_task.result()
        except Stalled as exc:
            log.info("dropping a WebSocket client: %s", exc)
            return
        except (WebSocketDisconnect, RuntimeError):
            pass
        if receive_task not in done:
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=NORMAL_CLOSURE)
