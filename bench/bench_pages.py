"""200 open pages during a run: how late each live update reaches them, what an open page
costs the server's memory, and that a page which stops reading is dropped without slowing
the others.

(a) P7 delivery: 200 page clients on ``/ws`` (asyncio websockets, this process) follow a real
    run (tinyvgg on the tiny demo). A client on ``/api/runs/{id}/events`` records when the
    trainer stamped each ``progress`` event (``ts``); each page update is matched to its event
    by the epoch and step its run panel shows. Latency = receive time - ``ts``, for every
    (page, update) pair. Goal: p99 within 250 ms.
(b) Memory: the server's RSS once the 200 pages hold their snapshot / before they connected
    (after one page came and went, so templates and allocator pools are warm); and the
    growth per page.
(c) A page that stops reading (a raw socket with a 4 KiB receive buffer that never reads)
    stays connected during the run: the time until the server drops it / the bound the
    server promises (a ping unanswered within the send timeout: twice the send timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import socket
import sys
import time
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import percentile
from bench.workload import make_data, run_config
from food_vision.settings import Settings
from tests.utils.raw_clients import stalled_page

GOAL_MS = 250.0
PANEL = re.compile(r'id="run-epoch">(\d+)/\d+</dd>.*?id="run-activity">Training, step (\d+)/', re.S)
SEND_TIMEOUT = Settings.model_fields["send_timeout_seconds"].default
Key = tuple[int, int]  # epoch, step


def run(args: argparse.Namespace) -> list[Row]:
    pages, per_class, epochs = (50, 16, 3) if args.quick else (200, 32, 5)

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=per_class, test_per_class=4)

    with bench_server("pages", prepare=prepare) as server:
        return asyncio.run(follow_a_run(server, pages, epochs))


def server_rss(server: BenchServer) -> float:
    assert server.process is not None
    return psutil.Process(server.process.pid).memory_info().rss / 2**20


def open_sockets(server: BenchServer) -> int:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    (value,) = re.findall(r"^foodvision_websockets_open (\S+)$", text, re.M)
    return int(float(value))


async def open_page(server: BenchServer) -> ClientConnection:
    page = await connect(f"{server.ws_url}/ws", open_timeout=60, max_size=None)
    await page.recv()  # the snapshot
    return page


async def follow_a_run(server: BenchServer, count: int, epochs: int) -> list[Row]:
    await (await open_page(server)).close()  # warm: templates, allocator pools
    await asyncio.sleep(1)
    before = server_rss(server)
    pages = list(await asyncio.gather(*(open_page(server) for _ in range(count))))
    await asyncio.sleep(1)
    after = server_rss(server)
    log(f"server RSS {before:.1f} MiB before, {after:.1f} MiB with {count} pages open")
    stalled = stalled_page(server.port)
    received: list[list[tuple[float, Key]]] = [[] for _ in pages]
    readers = [
        asyncio.create_task(read_updates(page, into))
        for page, into in zip(pages, received, strict=True)
    ]
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{server.url}/api/runs", json=run_config(epochs), timeout=60)
        run_id = response.json()["id"]
    stamps, dropped_after = await watch_run(server, run_id, stalled, expected=count + 2)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(page.close() for page in pages), return_exceptions=True)
    stalled.close()
    latencies = [
        (when - stamps[key]) * 1000
        for updates in received
        for when, key in first_sight(updates)
        if key in stamps
    ]
    return rows(count, latencies, before, after, dropped_after)


async def read_updates(page: ClientConnection, into: list[tuple[float, Key]]) -> None:
    async for message in page:
        when = time.time()
        if match := PANEL.search(str(message)):
            into.append((when, (int(match[1]), int(match[2]))))


def first_sight(updates: list[tuple[float, Key]]) -> list[tuple[float, Key]]:
    """Each run state once, when the page first showed it (an epoch's end repeats its step)."""
    seen: dict[Key, float] = {}
    for when, key in updates:
        seen.setdefault(key, when)
    return [(when, key) for key, when in seen.items()]


async def watch_run(
    server: BenchServer, run_id: str, stalled: socket.socket, expected: int
) -> tuple[dict[Key, float], float]:
    """The trainer's stamp of every progress event, and when the stalled page was dropped."""
    stamps: dict[Key, float] = {}
    started, dropped_after = time.monotonic(), float("nan")
    async with connect(f"{server.ws_url}/api/runs/{run_id}/events", open_timeout=60) as events:
        async for message in events:
            event = json.loads(message)
            if event["type"] == "progress" and event.get("phase", "train") == "train":
                stamps.setdefault((event["epoch"], event["step"]), event["ts"])
            waiting = math.isnan(dropped_after)  # for the stalled page to be dropped
            if waiting and await asyncio.to_thread(open_sockets, server) < expected:
                dropped_after = time.monotonic() - started
                log(f"the stalled page was dropped after {dropped_after:.1f} s")
            if event["type"] in ("completed", "cancelled", "failed"):
                break
    return stamps, dropped_after


def rows(
    count: int, latencies: list[float], before: float, after: float, dropped_after: float
) -> list[Row]:
    if not latencies:
        raise RuntimeError("no page update could be matched to a progress event")
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    log(f"{len(latencies)} deliveries: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    per_page_kib = (after - before) * 1024 / count
    bound = 2 * SEND_TIMEOUT
    delivery = f"page update delivery p99, {count} pages / goal (n={len(latencies)})"
    memory = f"{after:.1f} MiB ({per_page_kib:+.0f} KiB per page)"
    return [
        Row.of(delivery, p99, GOAL_MS, "ms", "goal"),
        Row.of(f"page update delivery p50, {count} pages / goal", p50, GOAL_MS, "ms", "goal"),
        Row(
            f"server RSS with {count} pages open / before",
            memory,
            f"{before:.1f} MiB",
            f"{after / before:.3g}x",
        ),
        Row.of("stalled page: dropped after / promised bound", dropped_after, bound, "s", "bound"),
    ]


if __name__ == "__main__":
    sys.exit(bench_main("bench_pages: live updates to many open pages", run))
