"""``foodvision worker`` processes for tests and benchmarks: started like a person starts them
on another machine, over the same home (the shared run store) and queue database."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.utils.processes import stop_group
from tests.utils.server import spawn


@dataclass
class WorkerProcess:
    home: Path
    name: str
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def log(self) -> Path:
        return self.home / f"worker-{self.name}.log"

    def start(self) -> WorkerProcess:
        argv = [sys.executable, "-m", "backend.cli", "worker", "--name", self.name]
        self.process = spawn(argv, self.home, self.settings, self.log)
        return self

    def wait_ready(self, timeout: float = 180) -> None:
        """Until the worker says it takes runs (its imports can take a while)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log_tail()
            if "takes queued runs" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} not ready:\n{self.log_tail()}")

    def trains(self, trainer_pid: int | None) -> bool:
        """True when ``trainer_pid`` is a trainer this worker launched."""
        assert self.process is not None
        try:
            return (
                trainer_pid is not None and psutil.Process(trainer_pid).ppid() == self.process.pid
            )
        except psutil.Error:
            return False

    def stop(self, sig: int) -> int | None:
        if self.process is None:
            return None
        code = stop_group(self.process, sig)
        self.process = None
        return code

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])
