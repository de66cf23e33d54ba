"""Whole trainer runs for the recipe benchmark: ``python -m food_vision.train`` from this tree
or from an earlier commit's, timed from spawn to exit, read back from its events, its memory
sampled while it runs."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from food_vision.events import Completed, Event, read_line

REPO = Path(__file__).resolve().parents[1]
RUN_LIMIT_SECONDS = 3600


@dataclass(frozen=True)
class TrainerRun:
    seconds: float  # spawn to exit: imports, dataset, model, training, saving
    cpu_seconds: float  # user + system time of the trainer and its loader workers
    test_acc: float
    peak_rss_mb: float  # the trainer process: everything resident, mapped files included
    peak_anon_mb: float  # what it holds itself (heap, tensors), without file-backed pages
    events: list[Event]


def checkout(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` extracted into ``into`` (nothing of this checkout changes)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_trainer(code: Path, home: Path, args: list[str], *, threads: int) -> TrainerRun:
    """One run of the trainer in ``code`` with ``args`` (dataset, seed, options)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "FOODVISION_HOME": str(home),
        "OMP_NUM_THREADS": str(threads),
    }
    command = [sys.executable, "-m", "food_vision.train", "--events", "jsonl"]
    command += ["--threads", str(threads), "--device", "cpu", *args]
    started, cpu_before = time.perf_counter(), _children_cpu()
    process = subprocess.Popen(
        command, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = _MemorySampler(process.pid)
    memory.start()
    try:
        stdout, stderr = process.communicate(timeout=RUN_LIMIT_SECONDS)
    finally:
        memory.stop()
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if process.returncode != 0:
        raise RuntimeError(f"trainer exited {process.returncode}: {stderr[-2000:]}")
    events = [e for e in map(read_line, stdout.splitlines()) if isinstance(e, Event)]
    (completed,) = [event for event in events if isinstance(event, Completed)]
    test_acc = completed.metrics["test_acc"]
    return TrainerRun(seconds, cpu, test_acc, memory.peak_rss, memory.peak_anon, events)


def _children_cpu() -> float:
    """CPU seconds of every finished child process so far (grandchildren included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _MemorySampler(threading.Thread):
    """Peak resident memory of one process, read from ``/proc`` ten times a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_anon = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            fields = _status(self.pid)
            self.peak_rss = max(self.peak_rss, fields.get("VmRSS", 0.0))
            self.peak_anon = max(self.peak_anon, fields.get("RssAnon", 0.0))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _status(pid: int) -> dict[str, float]:
    """The memory lines of ``/proc/<pid>/status``, in MB (empty once the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0]) / 1024
    return fields
