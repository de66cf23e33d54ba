"""Clients that misbehave on purpose, on raw sockets: what tests and benchmarks of slow and
stalled clients need and no HTTP or WebSocket library will do."""

from __future__ import annotations

import socket

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def stalled_page(port: int) -> socket.socket:
    """A page on ``/ws`` that completes its handshake, then never reads again (with a 4 KiB
    receive buffer, so that what the server sends soon fills it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(HANDSHAKE)
    return sock
