"""Serving one WebSocket until either side is done: the server's stream ends, or the client
goes away; the other half is then cancelled and the socket closed cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

NORMAL_CLOSURE = 1000


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
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            send_task.result()
        if receive_task not in done:
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=NORMAL_CLOSURE)
