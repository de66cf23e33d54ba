"""A bounded soak of the real server on 127.0.0.1: train, cancel, predict in bursts, and
connect/disconnect WebSockets in a loop; then report server memory, open descriptors, 5xx
answers and left-over processes, at the start and at the end.

    .venv/bin/python bench/soak.py [--minutes 10]       (make soak)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from pathlib import Path

import httpx
import psutil
from websockets.sync.client import connect
from websockets.typing import Origin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import log
from bench.temp_server import BenchServer, bench_server
from bench.workload import make_data, run_config
from tests.utils.factories import make_model_run
from tests.utils.processes import group_members

BURST = 16


def server_usage(server: BenchServer) -> tuple[float, int]:
    """Resident memory (MiB) and open file descriptors of the server process."""
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    return process.memory_info().rss / 2**20, process.num_fds()


def sample_image(server: BenchServer) -> bytes:
    return next((server.data_dir / "tiny" / "samples").glob("*.jpg")).read_bytes()


def soak(server: BenchServer, minutes: float) -> dict[str, object]:
    image = sample_image(server)
    origin = Origin(f"http://127.0.0.1:{server.port}")
    counts = {"runs": 0, "cancelled": 0, "predictions": 0, "sockets": 0, "5xx": 0, "503": 0}
    with httpx.Client(timeout=60) as client:
        for _ in range(3):  # warm the model cache and the first run before measuring
            client.post(f"{server.url}/api/predict", files={"file": ("a.jpg", image)})
        start_usage = server_usage(server)
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
                        return own.post(f"{server.url}/api/predict", files=files).status_code

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
                counts["5xx"] += run["status"] == "failed"
                server.wait_group_gone(run_id)
        end_usage = server_usage(server)
    leftovers = [pgid for pgid in server.trainer_pgids() if group_members(pgid)]
    return {
        **counts,
        "cycles": cycle,
        "rss_start_mib": round(start_usage[0], 1),
        "rss_end_mib": round(end_usage[0], 1),
        "fds_start": start_usage[1],
        "fds_end": end_usage[1],
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

    with bench_server("soak", prepare=prepare) as server:
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
