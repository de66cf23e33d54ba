"""Prediction clients, and prediction load from a process of its own: 16 client threads in
the process that measures the health check would compete with it for the GIL and inflate its
tail, so the burst runs elsewhere and only the server is shared."""

from __future__ import annotations

import http.client
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from urllib.parse import urlsplit

import httpx

Payload = tuple[str, bytes]  # file name, image bytes
PREDICT = "/api/predict"


class PredictClient:
    """One keep-alive connection posting photos to ``/api/predict``, each form encoded once
    (by httpx) and sent with ``http.client``. The clients share the server's cores, and
    ``httpx.Client.post`` cost them 5 to 6 ms of CPU per 0.4 MB photo against 0.8 ms here: as
    much as the server's own work on a request, which users' browsers do on their machines."""

    def __init__(self, url: str, model: str) -> None:
        parts = urlsplit(url)
        self._url, self._model = url, model
        self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
        self._forms: dict[Payload, tuple[bytes, dict[str, str]]] = {}

    def close(self) -> None:
        self._connection.close()

    def post(self, payload: Payload) -> None:
        body, headers = self._form(payload)
        self._connection.request("POST", PREDICT, body=body, headers=headers)
        response = self._connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {PREDICT}: {response.status} {answer[:200]!r}")

    def _form(self, payload: Payload) -> tuple[bytes, dict[str, str]]:
        form = self._forms.get(payload)
        if form is None:
            name, data = payload
            request = httpx.Request(
                "POST",
                f"{self._url}{PREDICT}",
                files={"file": (name, data, "image/jpeg")},
                data={"model": self._model, "top_k": "3"},
            )
            headers = {key: request.headers[key] for key in ("Content-Type", "Content-Length")}
            form = self._forms[payload] = (request.read(), headers)
        return form


def _burst(
    url: str,
    model: str,
    payloads: list[Payload],
    concurrency: int,
    stop: Event,
    done: Synchronized[int],
) -> None:
    def client_loop(index: int) -> None:
        with closing(PredictClient(url, model)) as client:
            while not stop.is_set():
                client.post(payloads[index % len(payloads)])
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
