"""Shared pieces of the benchmarks: a real uvicorn server in a subprocess over a temp home,
a WebSocket event watcher, process-group checks, percentiles and the result table.

Every benchmark talks to 127.0.0.1 only and cleans up every process it starts: the server runs
in its own session, and at exit any trainer group recorded in the temp run store is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

HOST = "127.0.0.1"
DATASET = "tiny"
ARCH = "tinyvgg"
IMAGE_SIZE = 64


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Row:
    """One figure: ``ratio`` is ours / baseline unless the metric's name says otherwise."""

    metric: str
    ours: str
    baseline: str
    ratio: str

    @classmethod
    def of(
        cls,
        metric: str,
        ours: float,
        baseline: float,
        unit: str,
        note: str = "",
        *,
        invert: bool = False,
    ) -> Row:
        ratio = (baseline / ours if invert else ours / baseline) if ours and baseline else math.nan
        base = f"{fmt(baseline)} {unit}" + (f" ({note})" if note else "")
        return cls(metric, f"{fmt(ours)} {unit}", base, f"{ratio:.3g}x")

    @classmethod
    def skipped(cls, metric: str, why: str) -> Row:
        return cls(metric, f"skipped: {why}", "-", "-")


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def print_table(rows: Sequence[Row], title: str | None = None) -> None:
    header = ("metric", "ours", "baseline", "ratio")
    cells = [header, *((r.metric, r.ours, r.baseline, r.ratio) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    line = "-+-".join("-" * w for w in widths)
    if title:
        print(f"\n{title}")
    for index, row in enumerate(cells):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(line)
    sys.stdout.flush()


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (about 1 min)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    return parser.parse_args()


def bench_main(description: str, run: Callable[[bool], list[Row]]) -> int:
    """Parse the flags, run with SIGTERM turned into a clean exit, print and save the rows."""
    args = parse_args(description)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    started = time.monotonic()
    rows = run(args.quick)
    print_table(rows, f"{description} ({time.monotonic() - started:.0f} s)")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows]), encoding="utf-8")
    return 0


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def trainer_threads() -> int:
    """The server's default trainer threads (one core kept for the server)."""
    return max(1, (os.cpu_count() or 2) - 1)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any FOODVISION_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOODVISION_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and _alive(process):
                members.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, wait, then SIGKILL the process's whole group (it runs in its own session)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    kill_group(process.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


# --------------------------------------------------------------------------- data and models


def make_data(data_dir: Path, train_per_class: int, test_per_class: int) -> Path:
    from food_vision.datasets.demo import generate_demo

    return generate_demo(
        data_dir / DATASET,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        size=IMAGE_SIZE,
    )


def make_model_run(runs_dir: Path, classes: Sequence[str] = ("pizza", "steak", "sushi")) -> str:
    """A finished run holding a (randomly initialised) tinyvgg bundle: the same forward cost
    as a trained one, without spending the benchmark's time on training."""
    import torch

    from food_vision.bundle import ModelMeta, save_bundle
    from food_vision.models import get_architecture
    from food_vision.runs import RunRecord, RunStatus, new_run_id, write_run

    torch.manual_seed(0)
    arch = get_architecture(ARCH)
    model = arch.build(len(classes), pretrained=False).eval()
    run_id = new_run_id()
    meta = ModelMeta(
        architecture=arch.name,
        classes=list(classes),
        input_size=arch.input_size,
        mean=list(arch.mean),
        std=list(arch.std),
        epoch=1,
        dataset=DATASET,
    )
    save_bundle(model, meta, runs_dir / run_id)
    config = {"dataset": DATASET, "architecture": ARCH, "epochs": 1}
    record = RunRecord(run_id, RunStatus.COMPLETED, config, created_at=time.time(), has_model=True)
    write_run(runs_dir / run_id, record)
    return run_id


def run_config(epochs: int, batch_size: int = 8) -> dict[str, Any]:
    return {
        "dataset": DATASET,
        "architecture": ARCH,
        "epochs": epochs,
        "learning_rate": 0.001,
        "batch_size": batch_size,
        "pretrained": False,
    }


# --------------------------------------------------------------------------- the server


@dataclass
class BenchServer:
    """``uvicorn backend.app:app`` on a free loopback port, over a temp home."""

    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def start(self, timeout: float = 90) -> None:
        env = clean_env(
            FOODVISION_HOME=str(self.home),
            FOODVISION_DATA_DIR=str(self.data_dir),
            **self.env_extra,
        )
        argv = [sys.executable, "-m", "uvicorn", "backend.app:app", "--host", HOST,
                "--port", str(self.port), "--log-level", "warning"]  # fmt: skip
        with open(self.home / "server.log", "ab") as server_log:
            # cwd is the temp home: no stray .env from the caller's directory applies.
            self.process = subprocess.Popen(
                argv,
                cwd=self.home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=server_log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server not ready within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.home / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        """Graceful stop (the server cancels its run), then no trainer group may survive."""
        if self.process is not None:
            stop_process(self.process, timeout=30)
            self.process = None
        for pgid in self.trainer_pgids():
            if group_members(pgid):
                log(f"killing left-over trainer group {pgid}")
                kill_group(pgid)

    def trainer_pgids(self) -> list[int]:
        pgids = []
        for run_file in self.runs_dir.glob("*/run.json"):
            with contextlib.suppress(OSError, ValueError):
                pid = json.loads(run_file.read_text()).get("pid")
                if isinstance(pid, int) and pid > 1:
                    pgids.append(pid)
        return pgids

    # API helpers --------------------------------------------------------------------------

    def start_run(self, client: httpx.Client, config: dict[str, Any]) -> str:
        response = client.post(f"{self.url}/api/runs", json=config, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/runs: {response.status_code} {response.text}")
        return response.json()["id"]

    def run(self, client: httpx.Client, run_id: str) -> dict[str, Any]:
        return client.get(f"{self.url}/api/runs/{run_id}", timeout=30).json()

    def wait_finished(self, client: httpx.Client, run_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(client, run_id)
            if run["status"] not in ("queued", "running"):
                return run
            time.sleep(0.2)
        raise RuntimeError(f"run {run_id} still active after {timeout:.0f} s")

    def run_pid(self, run_id: str) -> int:
        return json.loads((self.runs_dir / run_id / "run.json").read_text())["pid"]

    def wait_group_gone(self, run_id: str, timeout: float = 30) -> None:
        """Until no process of the run's group is left (a trainer exits after its last event)."""
        pgid = self.run_pid(run_id)
        deadline = time.monotonic() + timeout
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def bench_server(
    prefix: str, *, prepare: Callable[[BenchServer], None] | None = None, **env: str
) -> Iterator[BenchServer]:
    """A started server over a fresh temp home (``prepare`` fills it first); always cleaned."""
    home = Path(tempfile.mkdtemp(prefix=f"foodvision-{prefix}-"))
    server = BenchServer(home, dict(env))
    try:
        if prepare is not None:
            prepare(server)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


# --------------------------------------------------------------------------- live events


class EventWatcher:
    """Follows ``/api/runs/{id}/events`` on a thread; keeps (receive time, event) pairs."""

    def __init__(self, server: BenchServer, run_id: str) -> None:
        from websockets.sync.client import connect

        self.received: list[tuple[float, dict[str, Any]]] = []
        self.connected_at = time.time()
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._closed = False
        self._socket = connect(f"{server.ws_url}/api/runs/{run_id}/events", open_timeout=30)
        self.connected_at = time.time()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for message in self._socket:
                received = time.time()
                with self._changed:
                    self.received.append((received, json.loads(message)))
                    self._changed.notify_all()
        except Exception as exc:  # the connection dropped: report it to the waiter
            self.error = exc
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict:
        """The first event matching ``predicate``; raises if none arrives in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for _, event in self.received:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    types = [e["type"] for _, e in self.received][-5:]
                    raise RuntimeError(f"event not seen (closed={self._closed}, last {types})")
                self._changed.wait(left)

    def wait_final(self, timeout: float) -> dict:
        return self.wait_for(lambda e: e["type"] in ("completed", "cancelled", "failed"), timeout)

    def events(self, *types: str) -> list[dict[str, Any]]:
        with self._changed:
            return [event for _, event in self.received if not types or event["type"] in types]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._socket.close()
        self._thread.join(5)


def sequential_latencies(client: httpx.Client, urls: Sequence[str], count: int) -> dict:
    """``count`` GETs of each URL, interleaved; per-URL latencies in ms (non-200 raises)."""
    latencies: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(count):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            latencies[url].append(elapsed)
    return latencies
