"""The control for the health-check ratios: uvicorn (the same loop and HTTP parser as the app)
serving an ASGI app that does nothing but answer, in a process of its own on the same machine.

Its ``/healthz`` p99 under a load / idle is what the machine alone costs any server there:
with both cores busy with the load's processes (forward passes, decoding, the clients), a
server that wakes for a request waits its turn for a core, however little it has to do.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.utils.processes import stop_group
from tests.utils.server import HOST, READY_TIMEOUT, free_port, spawn, wait_until_ready

OK = b'{"status":"ok"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """200 and a constant JSON body for every HTTP request."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": OK})


@contextmanager
def bare_server(home: Path) -> Iterator[str]:
    """The control server's base URL for the duration of the block; stopped after it."""
    port, log = free_port(), home / "bare-server.log"
    argv = [sys.executable, "-m", "uvicorn", f"{__name__}:app", "--host", HOST, "--port",
            str(port), "--log-level", "warning"]  # fmt: skip
    process = spawn(argv, home, {}, log)
    url = f"http://{HOST}:{port}"
    try:
        wait_until_ready(
            url,
            lambda: None if process.poll() is None else f"exit {process.returncode}",
            READY_TIMEOUT,
            log.read_text,
        )
        yield url
    finally:
        stop_group(process)
