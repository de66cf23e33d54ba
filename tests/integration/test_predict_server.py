"""Upload limits against the real server: it answers 413 while the body is still arriving."""

from __future__ import annotations

import select
import socket

LIMIT = 10 * 1024 * 1024
CHUNK = 64 * 1024


def test_chunked_upload_is_cut_off_once_over_the_limit(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(
            (
                "POST /api/predict HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
        sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        sent, reply = 0, b""
        while sent < 5 * LIMIT:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (CHUNK, b"\0" * CHUNK))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
            if select.select([sock], [], [], 0)[0]:
                break
        while b"limit" not in reply:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"10 MB limit" in reply
    assert sent < 2 * LIMIT, f"sent {sent} bytes before the server refused"
