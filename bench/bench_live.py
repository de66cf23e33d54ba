"""Live updates: how fresh the events are, and what training does to the API's tail latency.

(a) For every event a WebSocket client on ``/api/runs/{id}/events`` receives during a real run,
    ``receive time - event.ts`` (the trainer stamps ``ts`` with ``time.time()`` when it creates
    the event; same machine, same clock). Baseline: the origin's page polled every 3 s, so a
    change was seen 1.5 s late on average (3 s at worst).
(b) p99 of ``GET /api/runs`` and ``GET /healthz`` (sequential, interleaved) while a run trains,
    against the same p99 measured idle on the same server just before.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.event_watcher import EventWatcher
from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import percentile, sequential_latencies
from bench.workload import make_data, run_config, trainer_threads

POLL_INTERVAL_MS = 3000.0


def run(args: argparse.Namespace) -> list[Row]:
    per_class, epochs, requests = (16, 3, 100) if args.quick else (32, 5, 300)

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=per_class, test_per_class=4)

    threads = str(trainer_threads())
    with bench_server("live", prepare=prepare, FOODVISION_TRAINER_THREADS=threads) as server:
        rows = event_latency(server, epochs)
        rows += latency_under_training(server, requests)
    return rows


def event_latency(server: BenchServer, epochs: int) -> list[Row]:
    live = live_latencies(server, epochs)
    p50, p95 = percentile(live, 50), percentile(live, 95)
    log(f"event latency over {len(live)} live events: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    n = f"n={len(live)}"
    interval, staleness = POLL_INTERVAL_MS, POLL_INTERVAL_MS / 2
    return [
        Row.of(f"event->WS latency p50 / poll interval ({n})", p50, interval, "ms", "3 s poll"),
        Row.of("event->WS latency p50 / mean poll staleness", p50, staleness, "ms", "3 s poll"),
        Row.of("event->WS latency p95 / poll interval", p95, interval, "ms", "3 s poll"),
    ]


def live_latencies(server: BenchServer, epochs: int) -> list[float]:
    """``receive time - event.ts`` in ms of each live progress and epoch event of one run
    followed on ``/api/runs/{id}/events``."""
    with httpx.Client() as client:
        run_id = server.start_run(client, run_config(epochs))
        watcher = EventWatcher(server, run_id)
        try:
            final = watcher.wait_final(timeout=60 + 30 * epochs)
        finally:
            watcher.close()
        server.wait_finished(client, run_id)
        server.wait_group_gone(run_id)  # idle means idle for what follows
    if final["type"] != "completed":
        raise RuntimeError(f"the run ended {final['type']}: {final.get('error', '')}")
    # Events stamped before the socket was open were replayed from the store: not live.
    live = [
        (received - event["ts"]) * 1000
        for received, event in watcher.received
        if event["type"] in ("progress", "epoch") and event["ts"] >= watcher.connected_at
    ]
    if not live:
        raise RuntimeError("no live progress or epoch event was received")
    return live


def latency_under_training(server: BenchServer, requests: int) -> list[Row]:
    urls = [f"{server.url}/api/runs", f"{server.url}/healthz"]
    with httpx.Client() as client:
        sequential_latencies(client, urls, 10)  # warm the connection and the routes
        # Idle is measured half before the run and half after it, so drift hits both sides.
        idle = sequential_latencies(client, urls, requests // 2)
        run_id = server.start_run(client, run_config(epochs=200))
        watcher = EventWatcher(server, run_id)
        try:
            # Measure while the trainer is computing, not while it is still importing torch.
            watcher.wait_for(lambda e: e["type"] == "progress", timeout=90)
            busy = sequential_latencies(client, urls, requests)
            still_running = server.run(client, run_id)["status"] == "running"
            client.post(f"{server.url}/api/runs/{run_id}/cancel", timeout=30)
            server.wait_finished(client, run_id, timeout=60)
            server.wait_group_gone(run_id)
        finally:
            watcher.close()
        for url, latencies in sequential_latencies(client, urls, requests - requests // 2).items():
            idle[url] += latencies
    if not still_running:
        log("warning: the run ended before the loaded measurement did")
    rows = []
    for url, name in zip(urls, ("GET /api/runs", "GET /healthz"), strict=True):
        p99_busy, p99_idle = percentile(busy[url], 99), percentile(idle[url], 99)
        log(f"{name}: p99 idle {p99_idle:.2f} ms, training {p99_busy:.2f} ms")
        metric = f"{name} p99 training / idle (n={requests})"
        rows.append(Row.of(metric, p99_busy, p99_idle, "ms", "idle"))
    return rows


if __name__ == "__main__":
    sys.exit(bench_main("bench_live: event freshness and API latency while training", run))
