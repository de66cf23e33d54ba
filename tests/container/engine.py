"""The image as users run it: ``docker`` or ``podman`` on the command line, one container at a
time over a named volume, its port published on loopback only."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.utils.server import wait_until_ready

PORT = 8000
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 30


class EngineError(RuntimeError):
    pass


@dataclass(frozen=True)
class Engine:
    """The container engine's command line (``docker`` and ``podman`` take the same words)."""

    command: str

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.command, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        """Its standard output; a non-zero exit raises with its standard error."""
        done = self.run(*args, timeout=timeout)
        if check and done.returncode != 0:
            raise EngineError(
                f"{self.command} {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
            )
        return done.stdout.strip()

    def inspect(self, kind: str, name: str) -> dict[str, Any]:
        """``<engine> <kind> inspect``: the first (only) object it describes."""
        described: list[dict[str, Any]] = json.loads(self(kind, "inspect", name))
        return described[0]

    def health_check(self, image: str) -> list[str]:
        """The image's HEALTHCHECK test (docker keeps it in Config, podman at the top)."""
        described = self.inspect("image", image)
        check = described.get("Config", {}).get("Healthcheck") or described.get("Healthcheck")
        if not check:
            raise EngineError(f"{image} has no HEALTHCHECK (podman: build with --format docker)")
        test: list[str] = check["Test"]
        return test


@dataclass
class Container:
    """One container of ``image`` named ``name``, with ``volume`` mounted at ``/data``."""

    engine: Engine
    image: str
    name: str
    volume: str
    env: dict[str, str] = field(default_factory=dict)
    url: str = field(default="", init=False)

    def start(self) -> None:
        """Run it detached and return once ``/readyz`` answers 200."""
        settings = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        self.engine("run", "--detach", "--name", self.name, "--publish", f"127.0.0.1::{PORT}",
                    "--volume", f"{self.volume}:/data", *settings, self.image)  # fmt: skip
        published = self.engine("port", self.name, f"{PORT}/tcp").splitlines()[0]
        self.url = f"http://{published}"
        wait_until_ready(self.url, self._gone, READY_TIMEOUT, self.logs)

    def _gone(self) -> str | None:
        return None if self.state()["Running"] else "the container stopped"

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.engine.inspect("container", self.name)["State"]
        return state

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``argv`` inside the running container, as the image's user."""
        return self.engine.run("exec", self.name, *argv, timeout=60)

    def logs(self) -> str:
        """What the server wrote (the engine hands its stdout and stderr back apart)."""
        done = self.engine.run("logs", self.name, timeout=30)
        return done.stdout + done.stderr

    def stop(self) -> int:
        """SIGTERM, as ``docker stop`` sends it; the exit code (0 when it shut down cleanly)."""
        self.engine("stop", "--time", str(STOP_TIMEOUT), self.name, timeout=STOP_TIMEOUT + 30)
        code: int = self.state()["ExitCode"]
        return code

    def remove(self, log_to: Path | None = None) -> None:
        """Remove it whatever state it is in, keeping its log in ``log_to`` first."""
        if log_to is not None:
            log_to.parent.mkdir(parents=True, exist_ok=True)
            log_to.write_text(self.logs(), encoding="utf-8")
        self.engine("rm", "--force", self.name, check=False, timeout=STOP_TIMEOUT + 30)
