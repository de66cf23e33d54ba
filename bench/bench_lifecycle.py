"""Training lifecycle: what the server costs a run, and how fast cancel leaves nothing behind.

(a) Epoch time of a run started through the API (epoch ``seconds`` from its events, a
    WebSocket client watching as a browser would) / the same run from the plain CLI
    (``python -m food_vision.train``, same config, same ``--threads``, same default loader
    workers). Runs alternate CLI / server so that machine noise falls on both.
(b) Cancel: start a run, wait for its first epoch, POST cancel, and time until no process of
    the run's process group is left (psutil; the group id is the trainer's pid from
    ``run.json``). Baseline: the grace period (10 s by default) after which the server would
    SIGKILL the group.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.event_watcher import EventWatcher
from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import median
from bench.workload import ARCH, DATASET, make_data, run_config, trainer_threads
from tests.utils.processes import group_members, stop_group
from tests.utils.server import app_env

GRACE_SECONDS = 10.0  # the server's default; this benchmark does not change it
BATCH_SIZE = 8


def run(args: argparse.Namespace) -> list[Row]:
    per_class, epochs, pairs = (16, 2, 1) if args.quick else (32, 2, 3)
    threads = trainer_threads()

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=per_class, test_per_class=4)

    env = {"FOODVISION_TRAINER_THREADS": str(threads)}
    served: list[float] = []
    plain: list[float] = []
    cancels: list[float] = []
    with bench_server("lifecycle", prepare=prepare, **env) as server:
        for _ in range(pairs):
            plain += cli_epochs(server, epochs, threads)
            seconds, cancel = served_then_cancelled(server, epochs)
            served += seconds
            cancels.append(cancel)
    log(f"epoch seconds: server {served}, CLI {plain}")
    log(f"cancel to no process: {[round(t, 3) for t in cancels]} s")
    note = "grace before SIGKILL"
    return [
        Row.of(
            f"epoch time under server / plain CLI (n={len(served)}+{len(plain)})",
            median(served),
            median(plain),
            "s",
            "CLI",
        ),
        Row.of(
            f"cancel -> no process, median (n={pairs}) / grace",
            median(cancels),
            GRACE_SECONDS,
            "s",
            note,
        ),
        Row.of("cancel -> no process, max / grace", max(cancels), GRACE_SECONDS, "s", note),
    ]


def served_then_cancelled(server: BenchServer, epochs: int) -> tuple[list[float], float]:
    """A run through the API: its first ``epochs`` epoch times, then the time its cancel takes
    (POSTed right after that epoch) until no process of its group is left."""
    with httpx.Client() as client:
        run_id = server.start_run(client, run_config(epochs=epochs + 100, batch_size=BATCH_SIZE))
        watcher = EventWatcher(server, run_id)
        try:
            watcher.wait_for(
                lambda e: e["type"] == "epoch" and e["epoch"] == epochs, 90 + 60 * epochs
            )
            seconds = [event["seconds"] for event in watcher.events("epoch")][:epochs]
            elapsed = cancel_and_wait(server, client, run_id)
            final = watcher.wait_final(timeout=30)
        finally:
            watcher.close()
        server.wait_finished(client, run_id, timeout=30)
    if final["type"] != "cancelled":
        raise RuntimeError(f"the run ended {final['type']}, not cancelled")
    return seconds, elapsed


def cli_epochs(server: BenchServer, epochs: int, threads: int) -> list[float]:
    from food_vision.runs import new_run_id

    out = server.home / "cli" / new_run_id()  # outside the server's run store
    argv = [sys.executable, "-m", "food_vision.train", "--dataset", DATASET, "--model", ARCH,
            "--epochs", str(epochs), "--lr", "0.001", "--batch-size", str(BATCH_SIZE),
            "--seed", "0", "--no-pretrained", "--threads", str(threads),
            "--out", str(out)]  # fmt: skip
    env = app_env(server.home)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.parent / f"{out.name}.log"
    with open(log_path, "wb") as stderr:
        process = subprocess.Popen(
            argv,
            cwd=server.home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        code = process.wait(timeout=90 + 60 * epochs)
    finally:
        stop_group(process, timeout=5)
    if code != 0:
        raise RuntimeError(f"the CLI run exited with {code}: {log_path.read_text()[-1000:]}")
    lines = (out / "events.jsonl").read_text().splitlines()
    return [event["seconds"] for event in map(json.loads, lines) if event["type"] == "epoch"]


def cancel_and_wait(server: BenchServer, client: httpx.Client, run_id: str) -> float:
    pgid = server.run_pid(run_id)
    members = len(group_members(pgid))
    started = time.perf_counter()
    response = client.post(f"{server.url}/api/runs/{run_id}/cancel", timeout=30)
    if response.status_code != 202:
        raise RuntimeError(f"cancel: {response.status_code} {response.text}")
    while group_members(pgid):
        if time.perf_counter() - started > GRACE_SECONDS + 20:
            raise RuntimeError(f"group {pgid} still alive after the grace period")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    log(f"cancel: {members} processes gone in {elapsed:.3f} s")
    return elapsed


if __name__ == "__main__":
    sys.exit(bench_main("bench_lifecycle: server overhead on training, cancel time", run))
