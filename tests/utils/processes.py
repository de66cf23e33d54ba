"""Process helpers: running the CLI, stopping a process group and checking what is left of one."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from food_vision.process_group import signal_group

REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_python_path(env: Mapping[str, str]) -> str:
    """``env``'s PYTHONPATH with this checkout first, so a child imports the code under test."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment with FoodVision pointed at ``home`` and quiet threads."""
    env = dict(os.environ)
    env.update(
        FOODVISION_HOME=str(home),
        FOODVISION_DATA_DIR=str(home / "data"),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
        PYTHONPATH=repo_python_path(env),
    )
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    *,
    module: str = "food_vision.cli",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


class LineReader:
    """Reads a stream on a thread so a test can wait for the next line with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._stream = stream
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def close(self, timeout: float = 10.0) -> None:
        """Wait for end of stream (the writer has exited), then close the stream."""
        self._thread.join(timeout)
        self._stream.close()

    def next(self, timeout: float) -> str | None:
        """The next line, or None at end of stream; raises ``queue.Empty`` past ``timeout``."""
        return self.lines.get(timeout=timeout)


def alive(process: psutil.Process) -> bool:
    """Running code: exists and is not a zombie waiting to be reaped."""
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and alive(process):
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def wait_until_dead(processes: Sequence[psutil.Process], limit: float) -> list[psutil.Process]:
    """Poll until none of ``processes`` runs or ``limit`` seconds pass; return the survivors."""
    deadline = time.monotonic() + limit
    survivors = [p for p in processes if alive(p)]
    while survivors and time.monotonic() < deadline:
        time.sleep(0.05)
        survivors = [p for p in survivors if alive(p)]
    return survivors


def stop_group(
    process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 30
) -> int:
    """Send ``sig`` to a process that leads its own session, wait up to ``timeout`` s, then
    SIGKILL its whole group, so nothing it started there outlives it. Its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    signal_group(process.pid, signal.SIGKILL)
    return process.wait(timeout=10)


class Descendants:
    """Every process started under ``pid`` while it runs, polled on a thread: a launcher's
    ranks, started in sessions of their own, are out of its group but not out of this list."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}
        self.ranks: dict[int, psutil.Process] = {}  # torchrun's ranks, by their RANK
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._thread.start()

    def _poll(self, interval: float) -> None:
        while not self._done.is_set():
            with contextlib.suppress(psutil.Error):
                known = {process.pid for process in self.ranks.values()}
                for child in self.root.children(recursive=True):
                    self.seen.setdefault(child.pid, child)
                    if child.pid not in known:  # its environment may be the launcher's still
                        self._note_rank(child)
            time.sleep(interval)

    def _note_rank(self, process: psutil.Process) -> None:
        """A rank has torchrun's RANK; its data loader workers (which inherit it) are named
        by torch."""
        with contextlib.suppress(psutil.Error):
            rank = process.environ().get("RANK")
            if rank is not None and not process.name().startswith("pt_data"):
                self.ranks[int(rank)] = process

    def stop(self) -> list[psutil.Process]:
        """Stop watching; the processes seen."""
        self._done.set()
        self._thread.join(timeout=10)
        return list(self.seen.values())
