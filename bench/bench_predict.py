"""Prediction as people use it: photos at camera size (1 to 3 MP JPEGs, ``bench/photos.py``)
sent to the default model (EfficientNet-Lite0, 224 px) and to tinyvgg (64 px), both randomly
initialised (a trained model costs the same). The model's own speed is measured the way the
server runs it (``bench/model_speed.py``: a process of its own, one thread, the inference
workers' priority and engine).

(a) P2: predictions/s over HTTP at concurrency 16 (tinyvgg also at 1 and 4; threads with one
    connection each, ``bench/load.py``'s ``PredictClient``) / images/s of the bare forward
    pass on preprocessed photos (no decoding, no HTTP) in batches of 16, and in batches of
    the server's largest micro-batch.
    Also how busy the machine's cores were at concurrency 16 (``bench/cpu_load.py``): the
    bare forward pass keeps one core busy, serving adds decoding, HTTP and the clients.
(b) P3: p50 of one warm request over HTTP with the default model / the origin's per-request
    path in this process with the same model: rebuild it, load its weights, predict, render a
    matplotlib figure (photo, label as title) to PNG (no HTTP, which flatters the origin). The
    two are measured in turns. Also ours / the bare forward pass of one image on the threads
    of a request that finds no other under way (``FOODVISION_LONE_PREDICTION_THREADS``), and /
    that plus decoding: what the server adds to the model.
(c) P1: p99 of ``GET /healthz`` during a 16-way prediction burst with the default model, and
    during a training run plus 4 concurrent predictions, / p99 idle (half measured before,
    half after). The predictions come from another process (``bench/load.py``). The same
    figures for a server with nothing to do (``bench/bare_server.py``), its requests
    interleaved with ours under the same load, show what the machine alone costs.

The server and the baselines use the engine ``FOODVISION_INFERENCE_ENGINE`` names (default
onnxruntime): ``FOODVISION_INFERENCE_ENGINE=torch python bench/bench_predict.py`` measures torch.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.bare_server import bare_server
from bench.cpu_load import cores_busy
from bench.event_watcher import EventWatcher
from bench.harness import bench_main, log
from bench.load import Payload, PredictClient, burst
from bench.model_speed import ModelSpeed
from bench.origin import origin_predict
from bench.photos import make_photos
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import call_latencies, median, percentile, sequential_latencies
from bench.workload import DATASET, make_data, run_config
from food_vision.settings import Settings
from tests.utils.factories import make_model_run

SERVER_THREADS = 1
BATCH = 16
SERVER_BATCH = Settings.model_fields["max_batch"].default
PHOTOS = 12
# Ours and the origin's path are measured in turns: the machine's speed drifts within a minute.
WARM_ROUNDS = 3


@dataclass(frozen=True)
class Served:
    """A model in the server's run store."""

    architecture: str
    label: str
    run_id: str = ""


DEFAULT = Served("efficientnet_lite0", "EfficientNet-Lite0 224 px")
TINY = Served("tinyvgg", "tinyvgg 64 px")


@dataclass(frozen=True)
class Sizes:
    default_requests: int
    tiny_requests: int
    forward_batches: int
    warm_samples: int
    health_requests: int


# 256 requests at concurrency 16: 16 rounds, so the first round's start (16 uploads at once
# before the forward worker has a full pipeline) is not a quarter of the window as with 64.
FULL = Sizes(256, 160, 6, 30, 1000)  # p99 of 1000: the tenth-worst, not one stall
QUICK = Sizes(64, 64, 3, 10, 200)


def run(args: argparse.Namespace) -> list[Row]:
    sizes = QUICK if args.quick else FULL
    models: dict[str, Served] = {}

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=16, test_per_class=4)
        for model in (DEFAULT, TINY):
            run_id = make_model_run(server.runs_dir, architecture=model.architecture)
            models[model.architecture] = Served(model.architecture, model.label, run_id)

    defaults = Settings()
    engine, lone_threads = defaults.inference_engine, defaults.lone_prediction_threads
    log(f"forward passes on {engine}; a lone request's on {lone_threads} threads")
    settings = {
        "FOODVISION_SERVER_THREADS": str(SERVER_THREADS),
        "FOODVISION_INFERENCE_ENGINE": engine,
        "FOODVISION_LONE_PREDICTION_THREADS": str(lone_threads),
    }
    with bench_server("predict", prepare=prepare, **settings) as server:
        source = args.photos or server.data_dir / DATASET
        photos = make_photos(source, PHOTOS)
        megabytes = sum(len(data) for _, data in photos) / len(photos) / 1e6
        log(f"{len(photos)} photos from {source}, {megabytes:.2f} MB on average")
        default, tiny = models[DEFAULT.architecture], models[TINY.architecture]
        with ModelSpeed(SERVER_THREADS, engine, lone_threads) as speed:
            rows = throughput(server, speed, default, photos, (16,), sizes.default_requests, sizes)
            rows += throughput(server, speed, tiny, photos, (1, 4, 16), sizes.tiny_requests, sizes)
            rows += warm_latency(server, speed, default, photos[1], sizes.warm_samples)
        with bare_server(server.home) as bare:
            probes = Probes(server.url, bare)
            rows += health_during_burst(server, probes, default, photos, sizes.health_requests)
            rows += health_during_training(server, probes, default, photos, sizes.health_requests)
    return rows


def throughput(
    server: BenchServer,
    speed: ModelSpeed,
    model: Served,
    photos: list[Payload],
    levels: tuple[int, ...],
    requests: int,
    sizes: Sizes,
) -> list[Row]:
    images = BATCH * sizes.forward_batches * (8 if model is not DEFAULT else 1)
    folder = server.runs_dir / model.run_id

    def forward_rates() -> tuple[float, float]:
        ceiling = speed.images_per_second(folder, photos, BATCH, images // BATCH)
        served = speed.images_per_second(folder, photos, SERVER_BATCH, images // SERVER_BATCH)
        log(f"{model.label}: in-process forward {ceiling:.1f} images/s at batch {BATCH}, "
            f"{served:.1f} at batch {SERVER_BATCH}")  # fmt: skip
        return ceiling, served

    before = forward_rates()
    with closing(PredictClient(server.url, model.run_id)) as client:
        for payload in photos[:2]:  # load the model into the server's cache
            client.post(payload)
    rates = []
    for concurrency in levels:
        with cores_busy() as machine:
            rates.append(http_rate(server, model, photos, concurrency, requests))
        log(f"{model.label}: HTTP at concurrency {concurrency}: {rates[-1]:.1f} predictions/s, "
            f"{machine.busy:.2f} of {machine.cores} cores busy")  # fmt: skip
    after = forward_rates()
    # The baselines bracket the load: the machine's speed drifts by a third within minutes.
    ceiling, served = ((b + a) / 2 for b, a in zip(before, after, strict=True))
    rows = []
    for concurrency, rate in zip(levels, rates, strict=True):
        metric = f"predict HTTP c={concurrency} / in-process forward, {model.label}"
        rows.append(Row.of(metric, rate, ceiling, "img/s", f"batch {BATCH}"))
    metric = f"predict HTTP c={levels[-1]} / in-process forward at the server's batch"
    rows.append(Row.of(metric, rate, served, "img/s", f"batch {SERVER_BATCH}"))
    metric = f"cores busy during predict HTTP c={levels[-1]} / cores, {model.label}"
    rows.append(Row.of(metric, machine.busy, machine.cores, "cores", "machine"))
    return rows


def http_rate(
    server: BenchServer, model: Served, photos: list[Payload], concurrency: int, requests: int
) -> float:
    """Predictions/s of ``concurrency`` clients (threads, one connection each)."""
    per_thread = max(1, requests // concurrency)

    def client_loop(index: int) -> None:
        with closing(PredictClient(server.url, model.run_id)) as client:
            for k in range(per_thread):
                client.post(photos[(index * per_thread + k) % len(photos)])

    with ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        for future in [pool.submit(client_loop, i) for i in range(concurrency)]:
            future.result()
        return per_thread * concurrency / (time.perf_counter() - started)


def warm_latency(
    server: BenchServer, speed: ModelSpeed, model: Served, photo: Payload, samples: int
) -> list[Row]:
    folder = server.runs_dir / model.run_id
    origin = origin_path(folder, server.home / photo[0], photo[1])
    ours: list[float] = []
    origin_ms: list[float] = []
    with closing(PredictClient(server.url, model.run_id)) as client:
        for _ in range(3):
            client.post(photo)
        for _ in range(WARM_ROUNDS):
            ours += call_latencies(functools.partial(client.post, photo), samples // WARM_ROUNDS)
            if origin is not None:
                origin_ms += call_latencies(origin, max(2, samples // 3 // WARM_ROUNDS))
    single = 1000 / speed.images_per_second(folder, [photo], 1, samples, lone=True)
    floor = single + speed.prepare_ms(folder, photo[1], samples)
    ours_p50 = median(ours)
    log(f"warm p50 {ours_p50:.1f} ms over HTTP; bare forward of one image {single:.1f} ms; "
        f"decode + preprocess + forward {floor:.1f} ms")  # fmt: skip
    metric = f"predict warm p50 / bare forward of one image, {model.label}"
    rows = [Row.of(metric, ours_p50, single, "ms", "forward")]
    metric = f"predict warm p50 / decode + forward of the same photo, {model.label}"
    rows.append(Row.of(metric, ours_p50, floor, "ms", "floor"))
    metric = f"predict warm p50: ours / origin per-request path, {model.label}"
    if origin is None:
        return [*rows, Row.skipped(metric, "matplotlib not installed")]
    origin_p50 = median(origin_ms)
    log(f"origin's per-request path p50 {origin_p50:.1f} ms in-process")
    rows.append(Row.of(metric, ours_p50, origin_p50, "ms", "origin"))
    metric = f"decode + forward of the photo / origin per-request path, {model.label}"
    return [*rows, Row.of(metric, floor, origin_p50, "ms", "origin")]


def origin_path(folder: Path, image: Path, data: bytes) -> Callable[[], bytes] | None:
    """The origin's request on ``data`` saved as ``image``, warmed (imports, font cache,
    allocator); None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    image.write_bytes(data)
    call = functools.partial(origin_predict, folder, image)
    for _ in range(2):
        call()
    return call


@dataclass(frozen=True)
class Probes:
    """The health checks measured: ours, and the control server's (``bench/bare_server.py``)."""

    ours: str
    bare: str


@dataclass(frozen=True)
class HealthP99:
    """p99 of ``/healthz`` in ms, while a load held and idle, for ours and the control."""

    busy: float
    idle: float
    bare_busy: float
    bare_idle: float


def health_p99(probes: Probes, requests: int, load: AbstractContextManager[None]) -> HealthP99:
    """p99 while ``load`` holds, and idle (half before it, half after), for both servers,
    their requests interleaved."""
    urls = [f"{probes.ours}/healthz", f"{probes.bare}/healthz"]
    with httpx.Client() as client:
        sequential_latencies(client, urls, 10)
        idle = sequential_latencies(client, urls, requests // 2)
        with load:
            busy = sequential_latencies(client, urls, requests)
        for url, later in sequential_latencies(client, urls, requests - requests // 2).items():
            idle[url] += later
    ours, bare = urls
    return HealthP99(
        percentile(busy[ours], 99),
        percentile(idle[ours], 99),
        percentile(busy[bare], 99),
        percentile(idle[bare], 99),
    )


def health_rows(load: str, p99: HealthP99, requests: int) -> list[Row]:
    """Ours under ``load`` / idle, the control's, and ours / the control's under the load."""
    return [
        Row.of(f"GET /healthz p99 {load} / idle (n={requests})", p99.busy, p99.idle, "ms", "idle"),
        Row.of(f"control: a server with nothing to do, p99 {load} / idle", p99.bare_busy,
               p99.bare_idle, "ms", "idle"),
        Row.of(f"GET /healthz p99 {load}: ours / the control's", p99.busy, p99.bare_busy, "ms",
               "control"),
    ]  # fmt: skip


@dataclass
class Rate:
    """Predictions/s answered during a block: what the health check's priority left them."""

    value: float = 0.0


@contextmanager
def predictions(
    server: BenchServer, model: Served, photos: list[Payload], concurrency: int, rate: Rate
) -> Iterator[None]:
    """A burst already under way (its first answers are in) for the duration of the block;
    its rate over the block goes in ``rate``."""
    with burst(server.url, model.run_id, photos, concurrency) as done:
        while done.value < concurrency:
            time.sleep(0.1)
        first, started = done.value, time.perf_counter()
        yield
        rate.value = (done.value - first) / (time.perf_counter() - started)


@contextmanager
def training(server: BenchServer) -> Iterator[None]:
    """A run computing (its first progress event is out) for the duration of the block; its
    processes are gone after it."""
    with httpx.Client() as client:
        run_id = server.start_run(client, run_config(epochs=200))
        watcher = EventWatcher(server, run_id)
        try:
            watcher.wait_for(lambda e: e["type"] == "progress", timeout=120)
            yield
            client.post(f"{server.url}/api/runs/{run_id}/cancel", timeout=30)
            server.wait_finished(client, run_id, timeout=60)
            server.wait_group_gone(run_id)
        finally:
            watcher.close()


def health_during_burst(
    server: BenchServer, probes: Probes, model: Served, photos: list[Payload], requests: int
) -> list[Row]:
    rate = Rate()
    p99 = health_p99(probes, requests, predictions(server, model, photos, 16, rate))
    log(f"healthz p99: idle {p99.idle:.2f} ms, 16-way burst {p99.busy:.2f} ms (control "
        f"{p99.bare_idle:.2f} / {p99.bare_busy:.2f}); "
        f"{rate.value:.1f} predictions/s meanwhile")  # fmt: skip
    return health_rows("16-way predict burst", p99, requests)


def health_during_training(
    server: BenchServer, probes: Probes, model: Served, photos: list[Payload], requests: int
) -> list[Row]:
    rate = Rate()

    @contextmanager
    def both() -> Iterator[None]:
        with training(server), predictions(server, model, photos, 4, rate):
            yield

    p99 = health_p99(probes, requests, both())
    log(f"healthz p99: idle {p99.idle:.2f} ms, training + 4 predictions {p99.busy:.2f} ms "
        f"(control {p99.bare_idle:.2f} / {p99.bare_busy:.2f}); "
        f"{rate.value:.1f} predictions/s meanwhile")  # fmt: skip
    return health_rows("training + 4 predictions", p99, requests)


if __name__ == "__main__":
    sys.exit(bench_main("bench_predict: predictions against in-process baselines", run))
