"""A request body must arrive in time, and is read to its end before the connection closes.

- A body that trickles in (slowloris) is cut when the request's time is up: 408, and the
  connection closes. The wait is an asyncio timeout: no worker or thread is held meanwhile.
- A response sent before the body was read (413 for a too-large upload, or a refusal by the
  Host, token or cross-site checks) is delivered whole, then the rest of the body is read and
  dropped, up to a bounded amount and time, before the connection closes, as nginx's
  lingering close does. A client that sends its whole body before reading the answer (Python's
  urllib, requests, httpx; with ``Expect: 100-continue`` or not) so receives the refusal and
  its message instead of "connection reset by peer".
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.services.uploads import BodyTimeout

LINGER_SECONDS = 10.0
LINGER_IDLE_SECONDS = 2.0


def has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    length = headers.get("content-length", "")
    return (length.isdigit() and int(length) > 0) or "chunked" in headers.get(
        "transfer-encoding", ""
    ).lower()


@dataclass
class _Body:
    """Where the reading of one request's body, and the answer to it, stand."""

    receive: Receive
    deadline: float
    complete: bool = False
    timed_out: bool = False
    response_started: bool = False

    def note(self, message: Message) -> Message:
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message


class RequestBodyGuard:
    """Time limit on the body; lingering read of what is left after an early response."""

    def __init__(self, app: ASGIApp, *, timeout: float, linger_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.linger_bytes = linger_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        body = _Body(receive, asyncio.get_running_loop().time() + self.timeout)

        async def timed_receive() -> Message:
            if body.complete:
                return await receive()
            try:
                async with asyncio.timeout_at(body.deadline):
                    return body.note(await receive())
            except TimeoutError:
                await self._time_out(body, scope, send)
                raise BodyTimeout(self._timeout_message) from None

        async def lingering_send(message: Message) -> None:
            if body.timed_out:
                return  # the 408 was the answer; what the app says after it is dropped
            if message["type"] == "http.response.start":
                body.response_started = True
                if not body.complete:
                    MutableHeaders(scope=message)["connection"] = "close"
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if not last or body.complete:
                await send(message)
                return
            await send({**message, "more_body": True})
            await self._drain(body)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, timed_receive, lingering_send)

    @property
    def _timeout_message(self) -> str:
        return f"the request body did not arrive within {self.timeout:g} seconds"

    async def _time_out(self, body: _Body, scope: Scope, send: Send) -> None:
        """Answer 408 at once, whatever the app makes of the error, and close."""
        if body.timed_out or body.response_started:
            return
        body.timed_out = True
        response = JSONResponse(
            {"detail": self._timeout_message}, status_code=408, headers={"connection": "close"}
        )
        await response(scope, body.receive, send)

    async def _drain(self, body: _Body) -> None:
        """Read and drop what is left of the body, within the linger bounds."""
        dropped = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_SECONDS):
                while not body.complete and dropped <= self.linger_bytes:
                    async with asyncio.timeout(LINGER_IDLE_SECONDS):
                        message = body.note(await body.receive())
                    dropped += len(message.get("body", b""))
