"""The app as it really runs: ``uvicorn backend.app:app`` in a subprocess of its own session,
on a free loopback port, over a home folder of its own. Tests and benchmarks build on it."""

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
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its FOODVISION_* settings (a developer's token or
    home must not leak in), pointed at ``home`` and ``home/data``, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOODVISION_")}
    env.update(
        FOODVISION_HOME=str(home),
        FOODVISION_DATA_DIR=str(home / "data"),
        PYTHONPATH=repo_python_path(env),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


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

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the server and return once ``/readyz`` answers 200."""
        argv = [sys.executable, "-m", "uvicorn", "backend.app:app", "--host", HOST,
                "--port", str(self.port), "--log-level", "warning"]  # fmt: skip
        with self.log.open("ab") as log:
            # cwd is the home: no stray .env from the caller's directory applies.
            self.process = subprocess.Popen(
                argv,
                cwd=self.home,
                env=app_env(self.home, **self.settings),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self.preexec,
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        assert self.process is not None, "the server was not started"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"the server exited with {code}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready after {timeout:.0f} s:\n{self.log_tail()}")

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
