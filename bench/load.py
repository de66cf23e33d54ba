"""Prediction load from a process of its own: 16 client threads in the process that measures
the health check would compete with it for the GIL and inflate its tail, so the burst runs
elsewhere and only the server is shared."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

import httpx

Payload = tuple[str, bytes]  # file name, image bytes


def post_predict(client: httpx.Client, url: str, model: str, payload: Payload) -> None:
    name, data = payload
    response = client.post(
        f"{url}/api/predict",
        files={"file": (name, data, "image/jpeg")},
        data={"model": model, "top_k": "3"},
        timeout=120,
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /api/predict: {response.status_code} {response.text[:200]}")


def _burst(
    url: str,
    model: str,
    payloads: list[Payload],
    concurrency: int,
    stop: Event,
    done: Synchronized[int],
) -> None:
    def client_loop(index: int) -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                post_predict(client, url, model, payloads[index % len(payloads)])
                with done.get_lock():
                    done.value += 1
                index += concurrency

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextmanager
def burst(
    url: str, model: str, payloads: list[Payload], concurrency: int
) -> Iterator[Synchronized[int]]:
    """``concurrency`` clients posting predictions without pause, in another process, for the
    duration of the block; yields the count of predictions answered so far."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    done: Synchronized[int] = context.Value("i", 0)
    process = context.Process(
        target=_burst, args=(url, model, payloads, concurrency, stop, done), daemon=True
    )
    process.start()
    try:
        yield done
    finally:
        stop.set()
        process.join(180)
        if process.is_alive():
            process.kill()
            process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the prediction burst failed (exit {process.exitcode})")
