"""The model's own speed, measured the way the server runs it: in a process of its own with
the inference workers' thread count, priority and engine (``inference_worker.start_worker``),
so the ratio to it shows what serving costs, not what the priority costs on a shared machine."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import TracebackType

from backend.services.inference import WORKER_NICENESS
from backend.services.inference_worker import prepare, start_worker
from bench.timing import median
from food_vision.bundle import read_meta
from food_vision.settings import DEFAULT_ENGINE, Engine, Settings

Payload = tuple[str, bytes]


def _rate(
    folder: Path,
    photos: list[Payload],
    batch: int,
    batches: int,
    engine: Engine,
    lone_threads: int,
    lone: bool,
) -> float:
    """Images/s over ``batches`` passes; ``lone``: on a lone request's ``lone_threads``."""
    import torch

    from food_vision.images import open_image
    from food_vision.predict import Predictor

    predictor = Predictor.from_bundle(folder, engine, lone_threads)
    tensors = [predictor.preprocess(open_image(data)) for _, data in photos]
    stacked = torch.stack([tensors[i % len(tensors)] for i in range(batch)])
    predictor.probabilities(stacked, lone=lone)
    started = time.perf_counter()
    for _ in range(batches):
        predictor.probabilities(stacked, lone=lone)
    return batches * batch / (time.perf_counter() - started)


def _prepare_ms(folder: Path, data: bytes, samples: int) -> float:
    """Median ms of the image worker's own work on one upload: decoding (reduced to the
    model's input) and cropping."""
    size = read_meta(folder).input_size
    limit = Settings.model_fields["max_image_pixels"].default
    times = []
    for _ in range(samples + 1):  # the first warms the transform
        started = time.perf_counter()
        prepare(data, limit, size)
        times.append((time.perf_counter() - started) * 1000)
    return median(times[1:])


class ModelSpeed:
    """A measuring process, for the duration of a ``with`` block."""

    def __init__(
        self, threads: int, engine: Engine = DEFAULT_ENGINE, lone_threads: int = 1
    ) -> None:
        self.threads = threads
        self.engine = engine
        self.lone_threads = lone_threads

    def __enter__(self) -> ModelSpeed:
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker,
            initargs=(self.threads, WORKER_NICENESS, 1, self.engine),
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def images_per_second(
        self, folder: Path, photos: list[Payload], batch: int, batches: int, *, lone: bool = False
    ) -> float:
        """Images/s of the bare forward pass over preprocessed photos, ``batch`` at a time
        (``lone``: with the threads of a prediction that finds no other under way)."""
        future = self._pool.submit(
            _rate, folder, photos, batch, batches, self.engine, self.lone_threads, lone
        )
        return future.result()

    def prepare_ms(self, folder: Path, data: bytes, samples: int) -> float:
        """Median ms to decode and preprocess one upload, as an image worker does."""
        return self._pool.submit(_prepare_ms, folder, data, samples).result()
