"""The app as it really runs: ``foodvision serve`` (uvicorn with the app's connection limits and
timeouts, or the Flask twin on Gunicorn) in a subprocess of its own session, on a free loopback
port, over a home folder of its own. Tests and benchmarks build on it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.utils.processes import repo_python_path, stop_group

HOST = "127.0.0.1"
# Base URLs for in-process clients whose Host header the app serves by default.
LOCAL, LOCAL_WS = f"http://{HOST}", f"ws://{HOST}"
# Starlette's in-process TestClient names itself ``testserver`` (WebSockets included).
TEST_CLIENT_HOSTS = ["testserver"]
READY_TIMEOUT = 180.0  # s: imports alone can take a minute on a busy machine
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its FOODVISION_* settings (a developer's token or
    home must not leak in) but the queue's database, pointed at ``home`` and ``home/data``,
    plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOODVISION_")}
    if "FOODVISION_DATABASE_URL" in os.environ:  # the test module's queue database
        env["FOODVISION_DATABASE_URL"] = os.environ["FOODVISION_DATABASE_URL"]
    env.update(
        FOODVISION_HOME=str(home),
        FOODVISION_DATA_DIR=str(home / "data"),
        PYTHONPATH=repo_python_path(env),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def spawn(
    argv: list[str],
    home: Path,
    settings: dict[str, str],
    log: Path,
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """``argv`` in a session of its own over ``home``, its output appended to ``log``; cwd is
    the home, so no stray .env from the caller's directory applies."""
    with log.open("ab") as output:
        return subprocess.Popen(
            argv,
            cwd=home,
            env=app_env(home, **settings),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
        )


def wait_until_ready(
    url: str, gone: Callable[[], str | None], timeout: float, log: Callable[[], str]
) -> None:
    """Poll ``url``/readyz until it answers 200. ``gone()`` says why the server can no longer
    answer (None while it runs); either failure raises with ``log()`` attached."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reason := gone():
            raise RuntimeError(f"{reason}:\n{log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready after {timeout:.0f} s:\n{log()}")


@dataclass
class AppServer:
    """One server over ``home`` (datasets in ``home/data``), configured by ``settings``.

    It runs in its own session, so stopping it can take its whole process group down; a run's
    trainer leads a session of its own and is the server's to stop.
    """

    home: Path
    port: int = field(default_factory=free_port)
    settings: dict[str, str] = field(default_factory=dict)
    preexec: Callable[[], None] | None = None  # run in the child before uvicorn (rlimits)
    framework: str = "fastapi"  # or "flask": the Flask twin on Gunicorn
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / f"server-{self.port}.log"

    def serve_args(self) -> list[str]:
        """The ``foodvision`` command line that serves on this server's port."""
        return ["serve", "--host", HOST, "--port", str(self.port), "--framework", self.framework]

    def argv(self) -> list[str]:
        """The command that starts the server."""
        return [sys.executable, "-m", "backend.cli", *self.serve_args()]

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the server and return once ``/readyz`` answers 200."""
        self.process = spawn(self.argv(), self.home, self.settings, self.log, self.preexec)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        assert self.process is not None, "the server was not started"
        wait_until_ready(self.url, self._gone, timeout, self.log_tail)

    def _gone(self) -> str | None:
        code = self.process.poll() if self.process is not None else "never started"
        return None if code is None else f"the server exited with {code}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig``, wait up to ``timeout`` s, then SIGKILL the server's group; its exit
        code, or None when it was not running."""
        if self.process is None:
            return None
        code = stop_group(self.process, sig, timeout)
        self.process = None
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
