"""Evaluations of runs: read from the run folder, made on demand for runs that have none
(off the event loop, one at a time per run), and the photos behind each matrix cell."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from backend.services.exports import NoModelError
from backend.services.run_store import RunStore
from food_vision.datasets.registry import resolve_dataset
from food_vision.evaluation import read_evaluation
from food_vision.evaluation_data import evaluate_saved_run
from food_vision.images import open_image
from food_vision.runs import RunRecord

THUMBNAIL_PIXELS = 160


class NoEvaluationError(LookupError):
    """The run has not been evaluated (yet), or the photo is not one it evaluated."""


@dataclass(frozen=True)
class CellPhotos:
    true: str
    predicted: str
    photos: list[dict[str, Any]]  # worst first: the highest loss on the true class


class EvaluationService:
    def __init__(self, store: RunStore, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self._running: dict[str, asyncio.Lock] = {}

    async def get(self, record: RunRecord) -> dict[str, Any]:
        found = await asyncio.to_thread(read_evaluation, self.store.folder(record.id))
        if found is None:
            raise NoEvaluationError(f"run {record.id} has no evaluation yet")
        return found

    async def find(self, record: RunRecord) -> dict[str, Any] | None:
        try:
            return await self.get(record)
        except NoEvaluationError:
            return None

    async def evaluate(self, record: RunRecord) -> dict[str, Any]:
        """Evaluate the run's model now unless an evaluation exists; raises NoModelError or
        EvaluationError."""
        if record.status.is_active or not self.store.has_model(record.id):
            raise NoModelError(record.id, "it is still training or kept no model")
        async with self._running.setdefault(record.id, asyncio.Lock()):
            existing = await self.find(record)
            if existing is not None:
                return existing
            folder = self.store.folder(record.id)
            done = await asyncio.to_thread(evaluate_saved_run, folder, self.data_dir)
            return done.to_dict()

    async def cell(self, record: RunRecord, true: str, predicted: str) -> CellPhotos:
        evaluation = await self.get(record)
        photos = [
            photo
            for photo in evaluation.get("samples", [])
            if photo.get("true") == true and photo.get("predicted") == predicted
        ]
        photos.sort(key=lambda photo: -float(photo.get("loss") or 0.0))
        return CellPhotos(true, predicted, photos)

    async def thumbnail(self, record: RunRecord, image: str) -> bytes:
        """A small JPEG of a photo the run evaluated; only listed photos are ever read."""
        evaluation = await self.get(record)
        if image not in {photo.get("image") for photo in evaluation.get("samples", [])}:
            raise NoEvaluationError(f"run {record.id} did not evaluate {image[:120]!r}")
        dataset = str(record.config.get("dataset", ""))
        return await asyncio.to_thread(self._thumbnail, dataset, image)

    def _thumbnail(self, dataset: str, image: str) -> bytes:
        root = resolve_dataset(dataset, self.data_dir, download=False).resolve()
        path = (root / image).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NoEvaluationError(f"the photo {image[:120]!r} is no longer in {dataset!r}")
        picture = open_image(path)
        picture.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85)
        return out.getvalue()
