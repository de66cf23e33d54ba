"""Clients a local web app must survive, against the real server (``foodvision serve``) with
short limits: uploads over the limit from clients that send everything before reading,
bodies and headers that trickle in, idle connections, too many connections, and WebSocket
pages that stop reading."""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import requests
from websockets.sync.client import connect

from tests.integration.conftest import SETTINGS, Server
from tests.utils.raw_clients import stalled_page

# Large enough that a body over it outgrows what the sockets buffer between the two sides
# (several MB on loopback): closing without reading it would reset the connection.
LIMIT = 4 * 1024 * 1024
TIMEOUT = 3  # header, body and send timeouts of the server below, in seconds
MAX_CONNECTIONS = 24
BOUNDARY = "----foodvision-test"


@pytest.fixture(scope="module")
def strict(tiny_home: Path) -> Iterator[Server]:
    server = Server(tiny_home)
    server.settings = {
        **SETTINGS,
        "FOODVISION_MAX_UPLOAD_BYTES": str(LIMIT),
        "FOODVISION_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
        "FOODVISION_BODY_TIMEOUT_SECONDS": str(TIMEOUT),
        "FOODVISION_SEND_TIMEOUT_SECONDS": str(TIMEOUT),
        "FOODVISION_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    server.start()
    yield server
    server.stop()


def multipart(size: int) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + os.urandom(size) + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_urllib(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post_requests(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = requests.post(url, data=body, headers=headers, timeout=30)
    return response.status_code, response.text


def post_httpx(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    return response.status_code, response.text


CLIENTS: dict[str, Callable[[str, bytes, dict[str, str]], tuple[int, str]]] = {
    "urllib": post_urllib,
    "requests": post_requests,
    "httpx": post_httpx,
}


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100-continue"])
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_client_that_sends_everything_first_reads_the_413(
    strict: Server, client: str, expect: bool
) -> None:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if expect:
        headers["Expect"] = "100-continue"
    body = multipart(int(3.5 * LIMIT))
    status, text = CLIENTS[client](f"{strict.url}/api/predict", body, headers)
    assert status == 413
    assert "larger than the 4 MB limit" in text


def raw_connection(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.settimeout(30)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def request_head(server: Server, length: int, *extra: str) -> bytes:
    lines = [
        "POST /api/predict HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_client_waiting_for_100_continue_gets_the_413_instead(strict: Server) -> None:
    with raw_connection(strict) as sock:
        sock.sendall(request_head(strict, 3 * LIMIT, "Expect: 100-continue"))
        started = time.monotonic()
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"larger than the 4 MB limit" in answer
    assert time.monotonic() - started < 15  # closed once the client sent nothing more


def test_a_body_far_past_the_limit_is_not_read_to_its_end(strict: Server) -> None:
    declared = 64 * LIMIT
    sent = 0
    started = time.monotonic()
    with raw_connection(strict) as sock, pytest.raises(OSError):
        sock.sendall(request_head(strict, declared))
        while sent < declared:
            sent += sock.send(b"\0" * 65536)
    assert sent < declared / 4
    assert time.monotonic() - started < 25


def trickle(sock: socket.socket, data: bytes, interval: float = 0.25) -> bytes:
    """Send ``data`` a byte at a time until the server answers or closes; what it said."""
    sock.settimeout(interval)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            if answer := sock.recv(65536):
                sock.settimeout(30)
                return answer + read_until_closed(sock)
            return b""
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return b""
    raise AssertionError("the server waited for the whole trickle")


def test_a_trickling_body_is_cut_with_408(strict: Server) -> None:
    with raw_connection(strict) as sock:
        sock.sendall(request_head(strict, 1000))
        started = time.monotonic()
        answer = trickle(sock, multipart(900)[:1000])
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert f"did not arrive within {TIMEOUT} seconds".encode() in answer
    assert time.monotonic() - started < TIMEOUT + 10


@pytest.mark.parametrize(
    "head",
    [
        "POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    ],
    ids=["request", "websocket-handshake"],
)
def test_trickling_headers_are_cut_with_408(strict: Server, head: str) -> None:
    with raw_connection(strict) as sock:
        started = time.monotonic()
        answer = trickle(sock, (head + "x" * 400).encode())
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert f"request headers not received within {TIMEOUT} seconds".encode() in answer
    assert time.monotonic() - started < TIMEOUT + 10


def test_an_idle_connection_is_closed(strict: Server) -> None:
    with raw_connection(strict) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
    assert TIMEOUT - 0.5 < time.monotonic() - started < TIMEOUT + 10


def test_connections_and_websockets_past_the_cap_get_503_and_hold_no_thread(strict: Server) -> None:
    assert strict.process is not None
    process = psutil.Process(strict.process.pid)
    threads = process.num_threads()
    idle = [raw_connection(strict) for _ in range(MAX_CONNECTIONS)]
    try:
        refused = httpx.get(f"{strict.url}/healthz", timeout=10)
        assert refused.status_code == 503
        with stalled_page(strict.port) as page:
            page.settimeout(10)
            assert read_until_closed(page).startswith(b"HTTP/1.1 503 ")
        assert process.num_threads() <= threads
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 10
    while httpx.get(f"{strict.url}/healthz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "connections stayed counted after closing"
        time.sleep(0.2)


def test_a_page_that_stops_reading_is_dropped_and_the_others_stay(strict: Server) -> None:
    reader = connect(f"{strict.ws_url}/ws", open_timeout=30)
    with reader, stalled_page(strict.port) as stalled:
        reader.recv(timeout=30)  # the snapshot
        time.sleep(3 * TIMEOUT)  # ping, no pong within the send timeout: dropped
        stalled.settimeout(10)
        answer = read_until_closed(stalled)
        assert answer.startswith(b"HTTP/1.1 101 ")
        reader.ping().wait(timeout=10)  # the reading page is still served
        metrics = httpx.get(f"{strict.url}/metrics", timeout=10).text
        assert "foodvision_websockets_open 1.0" in metrics
