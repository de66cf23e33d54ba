"""What the soak watches in the server: its memory and descriptors over time, and (through the
tracemalloc snapshots ``traced_serve.py`` writes on SIGUSR1) which lines allocated the growth."""

from __future__ import annotations

import signal
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.harness import log

TOP_LINES = 12
SNAPSHOT_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class Usage:
    minute: float
    rss_mib: float
    fds: int
    connections: int


class UsageSampler:
    """Samples the server every ``interval`` s on a thread; asks for a tracemalloc snapshot when
    the warm-up ends and when stopped."""

    def __init__(self, pid: int, folder: Path, *, interval: float, warmup: float) -> None:
        self.process = psutil.Process(pid)
        self.folder = folder
        self.interval = interval
        self.warmup = warmup
        self.samples: list[Usage] = []
        self.warm_sample: Usage | None = None
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._snapshots = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            usage = self.sample()
            if self.warm_sample is None and usage.minute * 60 >= self.warmup:
                self.warm_sample = usage
                self.snapshot()
            self._stop.wait(self.interval)

    def sample(self) -> Usage:
        with self.process.oneshot():
            usage = Usage(
                minute=(time.monotonic() - self._started) / 60,
                rss_mib=self.process.memory_info().rss / 2**20,
                fds=self.process.num_fds(),
                connections=len(self.process.net_connections()),
            )
        self.samples.append(usage)
        return usage

    def snapshot(self) -> Path:
        """Ask the server for a snapshot and wait until it is written."""
        path = self.folder / f"{self._snapshots:03d}.snapshot"
        self._snapshots += 1
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + SNAPSHOT_WAIT_SECONDS
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        log(f"tracemalloc snapshot {path.name}: {'written' if path.exists() else 'missing'}")
        return path

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.snapshot()


def print_curve(samples: list[Usage], warm: Usage | None, rows: int = 20) -> None:
    """The samples, thinned to about ``rows`` lines, and the growth after the warm-up."""
    step = max(1, len(samples) // rows)
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    print(f"{'minute':>7} {'rss MiB':>9} {'fds':>5} {'sockets':>8}")
    for usage in shown:
        print(f"{usage.minute:7.1f} {usage.rss_mib:9.1f} {usage.fds:5d} {usage.connections:8d}")
    if warm is not None and samples and samples[-1].minute > warm.minute:
        last = samples[-1]
        hours = (last.minute - warm.minute) / 60
        rss_rate = (last.rss_mib - warm.rss_mib) / hours
        print(
            f"after warm-up (minute {warm.minute:.1f} to {last.minute:.1f}): "
            f"rss {warm.rss_mib:.1f} -> {last.rss_mib:.1f} MiB ({rss_rate:+.1f} MiB/hour), "
            f"fds {warm.fds} -> {last.fds}"
        )


def print_growth(folder: Path) -> None:
    """The lines whose live allocations grew most between the first and the last snapshot."""
    paths = sorted(folder.glob("*.snapshot"))
    if len(paths) < 2:
        print("tracemalloc: fewer than two snapshots; no comparison")
        return
    ignored = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*"),
        tracemalloc.Filter(False, "<unknown>"),
    ]
    first = tracemalloc.Snapshot.load(str(paths[0])).filter_traces(ignored)
    last = tracemalloc.Snapshot.load(str(paths[-1])).filter_traces(ignored)
    total = sum(stat.size for stat in last.statistics("filename"))
    before = sum(stat.size for stat in first.statistics("filename"))
    print(f"tracemalloc: traced {before / 2**20:.2f} MiB -> {total / 2**20:.2f} MiB")
    for diff in last.compare_to(first, "traceback")[:TOP_LINES]:
        if diff.size_diff <= 0:
            break
        allocating, *callers = reversed(diff.traceback)  # most recent frame first
        print(
            f"  {diff.size_diff / 1024:+9.1f} KiB {diff.count_diff:+7d} blocks  "
            f"{allocating.filename}:{allocating.lineno}"
        )
        for caller in callers[:3]:
            print(f"{'':>36}<- {caller.filename}:{caller.lineno}")
