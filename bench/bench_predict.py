"""Prediction: HTTP throughput against the model's own ceiling, warm latency against the
origin's per-request approach, and what a prediction burst does to the health check.

One tinyvgg model, one machine, one run. Inference in the server uses one torch thread
(``FOODVISION_SERVER_THREADS`` default); the in-process baselines use the same.

(a) predictions/s over HTTP at concurrency 1, 4, 16 (threads, one httpx client each, multipart
    POSTs to ``/api/predict``) / images/s of ``Predictor.probabilities`` on batches of 16
    preprocessed tensors in this process (the ceiling: no decoding, no HTTP).
(b) origin p50 / ours p50 for one warm request: the origin rebuilt the model, loaded its
    weights from disk, predicted and rendered a matplotlib figure (image, label as title) to
    PNG for every request; reproduced here in-process (no HTTP, which flatters it).
(c) p99 of ``GET /healthz`` during a 16-way prediction burst / p99 idle.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import median, percentile, sequential_latencies
from bench.workload import DATASET, make_data
from tests.utils.factories import make_model_run

SERVER_THREADS = 1
CONCURRENCY = (1, 4, 16)
BATCH = 16
Payload = tuple[str, bytes]  # file name, image bytes


def run(quick: bool) -> list[Row]:
    import torch

    torch.set_num_threads(SERVER_THREADS)
    requests, latency_samples, health_requests = (64, 30, 100) if quick else (240, 100, 300)
    state: dict[str, str] = {}

    def prepare(server: BenchServer) -> None:
        make_data(server.data_dir, train_per_class=2, test_per_class=4)
        state["model"] = make_model_run(server.runs_dir)

    with bench_server("predict", prepare=prepare, FOODVISION_SERVER_THREADS="1") as server:
        model = state["model"]
        images = sorted((server.data_dir / DATASET / "test").rglob("*.*"))
        payloads = [(path.name, path.read_bytes()) for path in images]
        ceiling = forward_ceiling(server.runs_dir / model, images, batches=12 if quick else 40)
        rows = throughput(server, model, payloads, ceiling, requests)
        rows.append(warm_latency(server, model, images[0], payloads[0], latency_samples))
        rows += health_under_burst(server, model, payloads, health_requests)
    return rows


def forward_ceiling(folder: Path, images: list[Path], batches: int) -> float:
    """Images/s of the bare batched forward pass on preprocessed tensors."""
    import torch
    from PIL import Image

    from food_vision.predict import Predictor

    predictor = Predictor.from_bundle(folder)
    tensors = [predictor.preprocess(Image.open(path)) for path in images]
    batch = torch.stack([tensors[i % len(tensors)] for i in range(BATCH)])
    for _ in range(3):
        predictor.probabilities(batch)
    started = time.perf_counter()
    for _ in range(batches):
        predictor.probabilities(batch)
    rate = batches * BATCH / (time.perf_counter() - started)
    log(f"in-process forward ceiling: {rate:.0f} images/s (batches of {BATCH})")
    return rate


def post_predict(client: httpx.Client, url: str, model: str, payload: Payload) -> None:
    name, data = payload
    response = client.post(
        f"{url}/api/predict",
        files={"file": (name, data, "image/png")},
        data={"model": model, "top_k": "3"},
        timeout=60,
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /api/predict: {response.status_code} {response.text[:200]}")


def throughput(
    server: BenchServer, model: str, payloads: list[Payload], ceiling: float, requests: int
) -> list[Row]:
    with httpx.Client() as client:
        for payload in payloads[:4]:  # load the model into the server's cache
            post_predict(client, server.url, model, payload)
    rows = []
    for concurrency in CONCURRENCY:
        per_thread = requests // concurrency

        def worker(index: int, per_thread: int = per_thread) -> None:
            with httpx.Client() as client:
                for k in range(per_thread):
                    payload = payloads[(index * per_thread + k) % len(payloads)]
                    post_predict(client, server.url, model, payload)

        with ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            for future in [pool.submit(worker, i) for i in range(concurrency)]:
                future.result()
            elapsed = time.perf_counter() - started
        rate = per_thread * concurrency / elapsed
        log(f"HTTP predictions at concurrency {concurrency}: {rate:.0f}/s")
        rows.append(
            Row.of(
                f"predict HTTP c={concurrency} / in-process ceiling",
                rate,
                ceiling,
                "img/s",
                f"batch {BATCH}",
            )
        )
    return rows


def warm_latency(
    server: BenchServer, model: str, image: Path, payload: Payload, samples: int
) -> Row:
    metric = "predict warm p50: origin / ours (speed-up)"
    try:
        import matplotlib
    except ImportError:
        return Row.skipped(metric, "matplotlib not installed")
    matplotlib.use("Agg")
    ours = []
    with httpx.Client() as client:
        for _ in range(5):
            post_predict(client, server.url, model, payload)
        for _ in range(samples):
            started = time.perf_counter()
            post_predict(client, server.url, model, payload)
            ours.append((time.perf_counter() - started) * 1000)
    folder = server.runs_dir / model
    for _ in range(3):  # warm: imports, font cache, allocator
        origin_predict(folder, image)
    origin = []
    for _ in range(samples):
        started = time.perf_counter()
        origin_predict(folder, image)
        origin.append((time.perf_counter() - started) * 1000)
    ours_p50, origin_p50 = median(ours), median(origin)
    log(f"warm p50: ours {ours_p50:.1f} ms over HTTP, origin {origin_p50:.1f} ms in-process")
    return Row.of(metric, ours_p50, origin_p50, "ms", "origin", invert=True)


def origin_predict(folder: Path, image_path: Path) -> bytes:
    """The origin's request: rebuild + load weights, predict one image, plot it to a PNG."""
    import matplotlib.pyplot as plt
    import torch
    from PIL import Image

    from food_vision.bundle import load_bundle
    from food_vision.transforms import eval_transform

    model, meta = load_bundle(folder)
    image = Image.open(image_path).convert("RGB")
    transform = eval_transform(meta.input_size, meta.mean, meta.std)
    with torch.inference_mode():
        probabilities = torch.softmax(model(transform(image).unsqueeze(0)), dim=1)
    label = meta.classes[int(probabilities.argmax())]
    figure = plt.figure()
    plt.imshow(image)
    plt.title(f"Pred: {label} | Prob: {probabilities.max():.3f}")
    plt.axis(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def health_under_burst(
    server: BenchServer, model: str, payloads: list[Payload], requests: int
) -> list[Row]:
    url = f"{server.url}/healthz"
    with httpx.Client() as client:  # idle: half before the burst, half after it
        sequential_latencies(client, [url], 10)
        idle = sequential_latencies(client, [url], requests // 2)[url]
    stop = threading.Event()
    done = [0] * 16

    def burst(index: int) -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                post_predict(client, server.url, model, payloads[index % len(payloads)])
                done[index] += 1

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(burst, i) for i in range(16)]
        try:
            time.sleep(0.5)  # let the burst fill the server's queue
            with httpx.Client() as client:
                busy = sequential_latencies(client, [url], requests)[url]
        finally:
            stop.set()
        for future in futures:
            future.result()
    with httpx.Client() as client:
        idle += sequential_latencies(client, [url], requests - requests // 2)[url]
    p99_busy, p99_idle = percentile(busy, 99), percentile(idle, 99)
    log(f"healthz p99: idle {p99_idle:.2f} ms, burst {p99_busy:.2f} ms ({sum(done)} predictions)")
    return [
        Row.of(
            f"GET /healthz p99 16-way predict burst / idle (n={requests})",
            p99_busy,
            p99_idle,
            "ms",
            "idle",
        )
    ]


if __name__ == "__main__":
    sys.exit(bench_main("bench_predict: HTTP predictions against in-process baselines", run))
