"""FastAPI on uvicorn and the Flask twin on Gunicorn, side by side, each against the same
baselines measured in the same run (the two servers run one after the other, alone):

(a) predict warm p50 over HTTP (tinyvgg, 64 px) / the bare forward pass of one image in a
    process of its own (``bench/model_speed.py``): what the web layer and the server add.
(b) predictions/s over HTTP at concurrency 16 / images/s of that bare forward pass at the
    server's largest micro-batch.
(c) event->WebSocket latency p50 on ``/api/runs/{id}/events`` during a real run / the
    origin's 3 s poll interval (``bench_live.py``'s measurement).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.bench_live import event_latency
from bench.bench_predict import SERVER_THREADS, TINY, Served, Sizes, throughput, warm_latency
from bench.harness import bench_main, log
from bench.model_speed import ModelSpeed
from bench.photos import make_photos
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.workload import DATASET, make_data, trainer_threads
from food_vision.settings import Settings
from tests.utils.factories import make_model_run

FRAMEWORKS = ("fastapi", "flask")
PHOTOS = 6
FULL = Sizes(0, 160, 6, 30, 0)
QUICK = Sizes(0, 48, 3, 10, 0)


def run(args: argparse.Namespace) -> list[Row]:
    sizes = QUICK if args.quick else FULL
    epochs = 2 if args.quick else 4
    rows: list[Row] = []
    with ModelSpeed(SERVER_THREADS, lone_threads=Settings().lone_prediction_threads) as speed:
        for framework in FRAMEWORKS:
            log(f"--- {framework}")
            measured = measure(framework, speed, sizes, epochs, args.photos)
            rows += [
                dataclasses.replace(row, metric=f"{framework}: {row.metric}") for row in measured
            ]
    return rows


def measure(
    framework: str, speed: ModelSpeed, sizes: Sizes, epochs: int, photos_dir: Path | None
) -> list[Row]:
    model: dict[str, Served] = {}

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=16, test_per_class=4)
        run_id = make_model_run(server.runs_dir, architecture=TINY.architecture)
        model["tiny"] = Served(TINY.architecture, TINY.label, run_id)

    settings = {
        "FOODVISION_SERVER_THREADS": str(SERVER_THREADS),
        "FOODVISION_TRAINER_THREADS": str(trainer_threads()),
        "FOODVISION_LONE_PREDICTION_THREADS": str(speed.lone_threads),
    }
    with bench_server(f"frameworks-{framework}", prepare=prepare, framework=framework,
                      **settings) as server:  # fmt: skip
        photos = make_photos(photos_dir or server.data_dir / DATASET, PHOTOS)
        tiny = model["tiny"]
        rows = warm_latency(server, speed, tiny, photos[1], sizes.warm_samples)[:1]
        rows += throughput(server, speed, tiny, photos, (16,), sizes.tiny_requests, sizes)
        rows += event_latency(server, epochs)[:1]
    return rows


if __name__ == "__main__":
    sys.exit(bench_main("bench_frameworks: FastAPI and the Flask twin side by side", run))
