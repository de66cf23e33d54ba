"""A bounded soak of the real server on 127.0.0.1: train, cancel, predict in bursts, and
connect/disconnect WebSockets in a loop; then report server memory, open descriptors, 5xx
answers and left-over processes, as a curve over the whole soak.

The server runs with tracemalloc on (``bench/traced_serve.py``): a snapshot is taken when the
warm-up ends and at the end, and the lines whose allocations grew most in between are printed,
so a leak names its cause.

    .venv/bin/python bench/soak.py [--minutes 10]       (make soak)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.sync.client import connect
from websockets.typing import Origin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import log
from bench.memory_trace import UsageSampler, print_curve, print_growth
from bench.temp_server import BenchServer, bench_server
from bench.workload import make_data, run_config
from tests.utils.factories import make_model_run
from tests.utils.processes import group_members

BURST = 16
SAMPLE_SECONDS = 30.0
TRACED_SERVE = Path(__file__).resolve().parent / "traced_serve.py"


def warmup(minutes: float) -> float:
    """Seconds of warm-up (caches, allocator pools, first runs) before growth counts."""
    return min(180.0, minutes * 60 * 0.15)


@dataclass
class TracedServer(BenchServer):
    """The server under ``traced_serve.py``: tracemalloc on, snapshots on SIGUSR1."""

    @property
    def snapshots(self) -> Path:
        return self.home / "tracemalloc"

    def argv(self) -> list[str]:
        return [sys.executable, str(TRACED_SERVE), str(self.snapshots), *self.serve_args()]


def sample_image(server: BenchServer) -> bytes:
    return next((server.data_dir / "tiny" / "samples").glob("*.jpg")).read_bytes()


def soak(server: TracedServer, minutes: float) -> dict[str, object]:
    image = sample_image(server)
    origin = Origin(f"http://127.0.0.1:{server.port}")
    counts = {"runs": 0, "cancelled": 0, "predictions": 0, "sockets": 0, "5xx": 0, "503": 0}
    with httpx.Client(timeout=60) as client:
        for _ in range(3):  # warm the model cache and the first run before measuring
            client.post(f"{server.url}/api/predict", files={"file": ("a.jpg", image)})
        assert server.process is not None
        sampler = UsageSampler(
            server.process.pid, server.snapshots, interval=SAMPLE_SECONDS, warmup=warmup(minutes)
        )
        sampler.start()
        deadline = time.monotonic() + minutes * 60
        cycle = 0
        with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
            while time.monotonic() < deadline:
                cycle += 1
                run_id = server.start_run(client, run_config(epochs=2 if cycle % 2 else 30))
                counts["runs"] += 1

                def predict(_: int) -> int:
                    with httpx.Client(timeout=60) as own:
                        files = {"file": ("a.jpg", image)}
                        response = own.post(f"{server.url}/api/predict", files=files)
                    if response.status_code >= 500 and response.status_code != 503:
                        log(f"prediction answered {response.status_code}: {response.text[:300]}")
                    return response.status_code

                for _ in range(3):
                    statuses = list(pool.map(predict, range(BURST)))
                    counts["predictions"] += len(statuses)
                    counts["5xx"] += sum(s >= 500 and s != 503 for s in statuses)
                    counts["503"] += statuses.count(503)
                    for _ in range(5):
                        with connect(f"{server.ws_url}/ws", origin=origin, open_timeout=10) as ws:
                            ws.recv(timeout=10)
                        counts["sockets"] += 1
                if cycle % 2 == 0:
                    client.post(f"{server.url}/api/runs/{run_id}/cancel")
                    counts["cancelled"] += 1
                run = server.wait_finished(client, run_id, timeout=300)
                if run["status"] == "failed":
                    counts["5xx"] += 1
                    log(f"run {run_id} failed: {run.get('error')}\n{server.log_tail(20)}")
                server.wait_group_gone(run_id)
        sampler.stop()
    print_curve(sampler.samples, sampler.warm_sample)
    print_growth(server.snapshots)
    first, last = sampler.samples[0], sampler.samples[-1]
    leftovers = [pgid for pgid in server.trainer_pgids() if group_members(pgid)]
    return {
        **counts,
        "cycles": cycle,
        "rss_start_mib": round(first.rss_mib, 1),
        "rss_end_mib": round(last.rss_mib, 1),
        "fds_start": first.fds,
        "fds_end": last.fds,
        "leftover_process_groups": leftovers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to soak")
    args = parser.parse_args()
    if not 0 < args.minutes <= 120:
        parser.error("--minutes must be above 0 and at most 120")

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=16, test_per_class=4)
        make_model_run(server.runs_dir)

    with bench_server("soak", prepare=prepare, server_type=TracedServer) as server:
        assert isinstance(server, TracedServer)
        log(f"soaking {server.url} for {args.minutes} min")
        report = soak(server, args.minutes)
    for key, value in report.items():
        print(f"{key:<26} {value}")
    growth = report["rss_end_mib"] - report["rss_start_mib"]  # type: ignore[operator]
    print(f"{'rss_growth_mib':<26} {growth:.1f}")
    healthy = report["5xx"] == 0 and not report["leftover_process_groups"]
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
