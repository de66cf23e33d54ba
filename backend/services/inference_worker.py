"""The work of a prediction, run in worker processes: decoding and cropping an upload, and
batched forward passes over a cache of loaded models. Between the two travel 8-bit pixels,
normalised by the forward worker: a quarter of the bytes of float tensors, through pipes that
the server's process reads and writes.

Out of the server's process because of the GIL: a forward thread in the server held the event
loop's wake-ups back by about 8 ms at p99 whatever its priority (eager PyTorch takes the GIL
between every layer), while the same work in a process of lower priority left them under
1 ms. The workers are forked from a forkserver that has imported torch once.
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import Compose

from backend.services.uploads import decode_image
from food_vision.bundle import ModelMeta
from food_vision.predict import Predictor
from food_vision.settings import DEFAULT_ENGINE, Engine
from food_vision.transforms import eval_crop

ModelKey = tuple[str, int, int, int]  # run id + the weights file's identity
_models: OrderedDict[ModelKey, Predictor] = OrderedDict()
_cache_size = 4
_engine: Engine = DEFAULT_ENGINE
_lone_threads = 1


def start_worker(
    threads: int, niceness: int, cache_size: int, engine: Engine, lone_threads: int = 1
) -> None:
    """A worker's set-up: its torch threads, a lower priority than the server's loop, and the
    engine of its forward passes (with ``lone_threads`` for a request that is alone)."""
    global _cache_size, _engine, _lone_threads
    os.setpriority(os.PRIO_PROCESS, 0, niceness)
    torch.set_num_threads(threads)
    _cache_size, _engine, _lone_threads = cache_size, engine, lone_threads


def ready() -> bool:
    """Nothing: submitted once at start-up so the first prediction finds the worker running."""
    return True


def prepare(data: bytes, max_pixels: int, size: int) -> np.ndarray:
    """The upload decoded (content checked, limits applied) and cropped to the model's input
    ``size``: 8-bit pixels (size, size, 3), which the forward worker normalises. A writable
    copy: torch takes a read-only array only with a warning."""
    image = decode_image(data, max_pixels=max_pixels, min_side=size)
    return np.array(_crop(size)(image))


@functools.lru_cache(maxsize=16)
def _crop(size: int) -> Compose:
    return eval_crop(size)


def prepare_and_forward(key: ModelKey, folder: Path, data: bytes, max_pixels: int) -> np.ndarray:
    """``prepare`` and ``forward`` of one upload in one call: the whole work of a request that
    finds no other under way, which then crosses between processes once, not twice, and whose
    forward pass may use the idle cores. Shape (1, classes)."""
    predictor = _predictor(key, folder)
    pixels = prepare(data, max_pixels, predictor.meta.input_size)
    return predictor.pixel_probabilities(torch.from_numpy(pixels[None]), lone=True).numpy()


def load(key: ModelKey, folder: Path) -> ModelMeta:
    """Load the model (raises BundleError for one that cannot be used); its metadata."""
    return _predictor(key, folder).meta


def forward(key: ModelKey, folder: Path, batch: np.ndarray) -> np.ndarray:
    """Class probabilities of a batch of ``prepare``'s pixels, shape (N, classes)."""
    probabilities = _predictor(key, folder).pixel_probabilities(torch.from_numpy(batch))
    return probabilities.numpy()


def _predictor(key: ModelKey, folder: Path) -> Predictor:
    predictor = _models.get(key)
    if predictor is None:
        predictor = Predictor.from_bundle(folder, _engine, _lone_threads)
        for stale in [k for k in _models if k[0] == key[0]]:
            del _models[stale]
        _models[key] = predictor
        while len(_models) > _cache_size:
            _models.popitem(last=False)
    _models.move_to_end(key)
    return predictor
