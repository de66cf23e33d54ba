"""What a prediction request names, resolved before any image is decoded: the model (the one
asked for, else the best usable one), how many classes to answer, and a sample photo."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.services.inference import ModelNotFoundError
from backend.services.runs import RunService, best_model
from backend.services.samples import Sample, find_sample
from food_vision.runs import is_valid_run_id

MAX_TOP_K = 20
DEFAULT_TOP_K = 3


class InvalidTopK(ValueError):
    """``top_k`` is not a whole number in range."""


class SampleNotFoundError(LookupError):
    """No listed sample has that id."""


def parse_top_k(text: str | None) -> int:
    """The number of classes to answer; empty means the default."""
    text = text or str(DEFAULT_TOP_K)
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP_K:
        raise InvalidTopK(f"top_k must be a whole number from 1 to {MAX_TOP_K}")
    return int(text)


async def choose_model(runs: RunService, requested: str | None) -> str:
    """The requested run id, or the best usable model (see ``best_model``) when none is named.

    A malformed id is refused here, before it can reach the run store's paths.
    """
    if requested:
        if not is_valid_run_id(requested):
            raise ModelNotFoundError(f"no trained model {requested[:80]!r}")
        return requested
    best = best_model(await asyncio.to_thread(runs.usable_models))
    if best is None:
        raise ModelNotFoundError("no trained model yet: train one first")
    return best.id


async def listed_sample(data_dir: Path, sample_id: str) -> Sample:
    """The sample with that id; only listed ones are ever read."""
    sample = await asyncio.to_thread(find_sample, data_dir, sample_id)
    if sample is None:
        raise SampleNotFoundError(f"no sample {sample_id[:80]!r}")
    return sample
