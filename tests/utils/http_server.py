"""A threaded HTTP server on 127.0.0.1 serving bytes per path and counting requests."""

from __future__ import annotations

import collections
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.utils.server import free_port


class LocalHTTPServer:
    """Serves ``files[path]`` with a Content-Length; any other path is a 404. Counts hits."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.files: dict[str, bytes] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    @property
    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def _count(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1


@contextmanager
def serve_files() -> Iterator[LocalHTTPServer]:
    """Start a server on a free loopback port for the duration of the ``with`` block."""
    state: LocalHTTPServer

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state._count(self.path)
            data = state.files.get(self.path)
            try:
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state = LocalHTTPServer(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def closed_port() -> int:
    """A loopback port with nothing listening on it: a connection there is refused."""
    return free_port()
