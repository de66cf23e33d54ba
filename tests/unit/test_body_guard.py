"""The request body guard driven at the ASGI level: an early answer is delivered whole and the
rest of the body read within bounds; a body that trickles in gets one 408 and nothing else."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from backend.services.uploads import BodyTimeout
from backend.web import body_guard
from backend.web.body_guard import RequestBodyGuard

CHUNK = 100_000


class Client:
    """Sends ``chunks`` of body (each after ``delay`` s), then stalls or ends."""

    def __init__(self, chunks: int, *, delay: float = 0.0, stall_after: int | None = None):
        self.chunks = chunks
        self.delay = delay
        self.stall_after = stall_after
        self.sent = 0
        self.received: list[Message] = []

    async def receive(self) -> Message:
        if self.stall_after is not None and self.sent >= self.stall_after:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        self.sent += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": self.sent < self.chunks}

    async def send(self, message: Message) -> None:
        self.received.append(message)

    def headers(self) -> dict[bytes, bytes]:
        start = next(m for m in self.received if m["type"] == "http.response.start")
        return dict(start["headers"])


def scope(length: int | None) -> Scope:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return {"type": "http", "method": "POST", "path": "/api/predict", "headers": headers}


async def refuse_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"detail": "the upload is larger than the 1 MB limit"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def read_all_then_answer(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def guard(app: object, *, timeout: float = 30, linger_bytes: int = 10 * CHUNK) -> RequestBodyGuard:
    return RequestBodyGuard(app, timeout=timeout, linger_bytes=linger_bytes)  # type: ignore[arg-type]


async def test_an_early_refusal_is_sent_whole_then_the_body_is_read_to_its_end() -> None:
    client = Client(chunks=5)
    await guard(refuse_at_once)(scope(5 * CHUNK), client.receive, client.send)
    start, refusal, end = client.received
    assert start["status"] == 413 and client.headers()[b"connection"] == b"close"
    assert b"1 MB limit" in refusal["body"] and refusal["more_body"] is True
    assert end == {"type": "http.response.body", "body": b"", "more_body": False}
    assert client.sent == 5  # every chunk was read before the connection closes


async def test_the_lingering_read_stops_at_its_byte_bound() -> None:
    client = Client(chunks=1000)
    await guard(refuse_at_once, linger_bytes=2 * CHUNK)(
        scope(1000 * CHUNK), client.receive, client.send
    )
    assert client.sent == 3  # past the bound by at most one chunk
    assert client.received[-1]["more_body"] is False


async def test_the_lingering_read_stops_when_the_client_sends_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(body_guard, "LINGER_IDLE_SECONDS", 0.05)
    client = Client(chunks=10, stall_after=2)  # e.g. waiting for a 100 Continue it never got
    await asyncio.wait_for(guard(refuse_at_once)(scope(10 * CHUNK), client.receive, client.send), 5)
    assert client.received[-1]["more_body"] is False


async def test_a_trickling_body_gets_one_408_and_the_app_answers_nothing_more() -> None:
    raised: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await read_all_then_answer(scope, receive, send)
        except BodyTimeout as exc:
            raised.append(exc)
            await refuse_at_once(scope, receive, send)  # the app's own error answer

    client = Client(chunks=100, delay=0.05)
    await guard(app, timeout=0.3)(scope(100 * CHUNK), client.receive, client.send)
    start, body = client.received
    assert start["status"] == 408 and client.headers()[b"connection"] == b"close"
    assert json.loads(body["body"]) == {
        "detail": "the request body did not arrive within 0.3 seconds"
    }
    assert len(raised) == 1 and client.sent < 100


async def test_a_body_read_in_time_passes_untouched() -> None:
    client = Client(chunks=3)
    await guard(read_all_then_answer)(scope(3 * CHUNK), client.receive, client.send)
    start, body = client.received
    assert start["status"] == 200 and b"connection" not in client.headers()
    assert body == {"type": "http.response.body", "body": b"ok"}


async def test_a_request_without_a_body_is_not_guarded() -> None:
    seen: list[tuple[Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((receive, send))

    client = Client(chunks=1)
    await guard(app)(scope(None), client.receive, client.send)
    assert seen == [(client.receive, client.send)]
