"""Export zips of finished runs: built off the event loop, once per model, then served from
the run folder's cache; concurrent requests for the same run wait for the one build."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from backend.services.run_store import RunStore
from food_vision.export_bundle import build_onnx_zip, cached_onnx_zip, read_verification
from food_vision.runs import RunRecord

FORMATS = ("onnx",)


class NoModelError(LookupError):
    """The run has no finished model to export."""

    def __init__(self, run_id: str, why: str) -> None:
        super().__init__(f"run {run_id} has no model to export: {why}")
        self.run_id = run_id


class ExportService:
    def __init__(self, store: RunStore, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self._building: dict[str, asyncio.Lock] = {}

    async def onnx(self, record: RunRecord) -> Path:
        """The verified ONNX zip of the run, built now unless a valid one is cached.

        Raises NoModelError, or ExportError when the export does not match the model.
        """
        folder = self._model_folder(record)
        async with self._building.setdefault(record.id, asyncio.Lock()):
            cached = await asyncio.to_thread(cached_onnx_zip, folder)
            if cached is not None:
                return cached
            return await asyncio.to_thread(build_onnx_zip, folder, self.data_dir)

    async def verification(self, record: RunRecord) -> dict[str, Any] | None:
        """The figures of the cached export, for the page; None before one is built."""
        return await asyncio.to_thread(read_verification, self.store.folder(record.id))

    def _model_folder(self, record: RunRecord) -> Path:
        if record.status.is_active:
            raise NoModelError(record.id, "it is still training")
        if not self.store.has_model(record.id):
            raise NoModelError(record.id, "no epoch finished")
        return self.store.folder(record.id)
