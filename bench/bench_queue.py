"""The run queue: what procrastinate on the private PostgreSQL costs.

(a) Queue overhead: N tiny runs POSTed at once to a server (its own PostgreSQL, its in-server
    worker), from the first POST until the last has finished / the same N runs started back
    to back from the plain CLI (``python -m food_vision.train``, same config and threads).
    Goal: at most 1.1.
(b) Memory: the idle server's resident memory with its private PostgreSQL (the server's
    process tree plus the PostgreSQL processes) / the same server whose queue lives in a
    PostgreSQL it did not start (``FOODVISION_DATABASE_URL``; that server is not counted).
(c) Event latency trainer -> page: p95 of ``receive time - event.ts`` on
    ``/api/runs/{id}/events`` for a run a separate ``foodvision worker`` process trains (its
    events reach the server through PostgreSQL) / the same for a run of the in-server worker.
    Goal: the separate worker's p95 at most 100 ms.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from backend.services.private_postgres import PrivatePostgres
from bench.bench_lifecycle import BATCH_SIZE, cli_epochs
from bench.bench_live import live_latencies
from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import percentile
from bench.workload import make_data, run_config, trainer_threads
from tests.utils.workers import WorkerProcess

SETTLE_SECONDS = 5.0  # after the start-up work, before memory is read
LATENCY_EPOCHS = 3
LATENCY_GOAL_MS = 100.0


def run(args: argparse.Namespace) -> list[Row]:
    count = 5 if args.quick else 20
    threads = trainer_threads()

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=16, test_per_class=4)

    env = {"FOODVISION_TRAINER_THREADS": str(threads)}
    with bench_server("queue", prepare=prepare, **env) as server:
        embedded_rss = idle_rss(server) + postgres_rss(server.home / "postgres")
        queued = queued_seconds(server, count)
        started = time.perf_counter()
        for _ in range(count):
            cli_epochs(server, 1, threads)
        plain = time.perf_counter() - started
        in_server = percentile(live_latencies(server, LATENCY_EPOCHS), 95)
    external_rss = rss_with_external_database(prepare, env)
    separate = separate_worker_p95(prepare, env)
    log(f"{count} runs: queued {queued:.1f} s, CLI back to back {plain:.1f} s")
    log(f"event latency p95: separate worker {separate:.1f} ms, in-server {in_server:.1f} ms "
        f"(goal: separate worker <= {LATENCY_GOAL_MS:.0f} ms)")  # fmt: skip
    return [
        Row.of(f"{count} queued runs end to end / CLI back to back", queued, plain, "s", "CLI"),
        Row.of(
            "idle server RSS with private PostgreSQL / without",
            embedded_rss,
            external_rss,
            "MiB",
            "external database",
        ),
        Row.of(
            "event->WS latency p95, separate worker / in-server worker",
            separate,
            in_server,
            "ms",
            "in-server worker",
        ),
    ]


def queued_seconds(server: BenchServer, count: int) -> float:
    """From the first POST until the last of ``count`` one-epoch runs has ended."""
    with httpx.Client() as client:
        started = time.perf_counter()
        ids = [
            server.start_run(client, run_config(epochs=1, batch_size=BATCH_SIZE))
            for _ in range(count)
        ]
        for run_id in ids:
            run = server.wait_finished(client, run_id, timeout=120 * count)
            if run["status"] != "completed":
                raise RuntimeError(f"run {run_id} ended {run['status']}: {run['error']}")
        return time.perf_counter() - started


def rss_with_external_database(
    prepare: Callable[[BenchServer], None], env: dict[str, str]
) -> float:
    """The idle server's memory when the queue's PostgreSQL is someone else's."""
    with tempfile.TemporaryDirectory(prefix="foodvision-queue-db-") as folder:
        database = PrivatePostgres(Path(folder) / "postgres")
        database.start()
        try:
            with bench_server(
                "queue-external", prepare=prepare, FOODVISION_DATABASE_URL=database.url, **env
            ) as server:
                return idle_rss(server)
        finally:
            database.stop()


def separate_worker_p95(prepare: Callable[[BenchServer], None], env: dict[str, str]) -> float:
    """p95 event latency of a run that a ``foodvision worker`` beside a server that trains
    nothing itself runs (same home, the server's private PostgreSQL)."""
    remote = {**env, "FOODVISION_SERVER_WORKER": "false"}
    with bench_server("queue-worker", prepare=prepare, **remote) as server:
        worker = WorkerProcess(server.home, "bench", remote).start()
        try:
            worker.wait_ready()
            return percentile(live_latencies(server, LATENCY_EPOCHS), 95)
        finally:
            worker.stop(signal.SIGTERM)


def idle_rss(server: BenchServer) -> float:
    """MiB resident in the server and its children, once its start-up work has settled."""
    time.sleep(SETTLE_SECONDS)
    assert server.process is not None
    root = psutil.Process(server.process.pid)
    return tree_rss([root, *root.children(recursive=True)])


def postgres_rss(data_dir: Path) -> float:
    pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    root = psutil.Process(pid)
    return tree_rss([root, *root.children(recursive=True)])


def tree_rss(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


if __name__ == "__main__":
    raise SystemExit(bench_main("run queue", run))
