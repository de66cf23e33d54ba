"""Datasets as the app shows them: named and custom ones, with their validation summary."""

from __future__ import annotations

import asyncio
import builtins
from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.layout import DatasetError, DatasetSummary, validate_image_folder
from food_vision.datasets.manifest import ManifestError, read_manifest
from food_vision.datasets.naming import SPLITS
from food_vision.datasets.registry import DatasetEntry, UnknownDatasetError, list_datasets


@dataclass(frozen=True)
class DatasetInfo:
    entry: DatasetEntry
    summary: DatasetSummary | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.entry.name,
            "title": self.entry.title,
            "kind": self.entry.kind,
            "available": self.entry.available,
            "summary": self.summary.to_dict() if self.summary else None,
            "problem": self.problem,
        }


class DatasetService:
    """Validation is cached per folder and modification time: listing stays cheap."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._cache: dict[Path, tuple[float, DatasetInfo]] = {}

    async def list(self) -> list[DatasetInfo]:
        return await asyncio.to_thread(self._list)

    async def check(self, name: str) -> DatasetInfo:
        """The dataset's info; raises UnknownDatasetError for a name that is not listed."""
        for info in await self.list():
            if info.entry.name == name:
                return info
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; see GET /api/datasets for the ones available"
        )

    def _list(self) -> builtins.list[DatasetInfo]:  # ``list`` here is the method above
        return [self._info(entry) for entry in list_datasets(self.data_dir)]

    def _info(self, entry: DatasetEntry) -> DatasetInfo:
        if not entry.available:
            return DatasetInfo(entry)
        stamp = _tree_stamp(entry.path)
        cached = self._cache.get(entry.path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            info = _checked(entry)
        except (DatasetError, ManifestError) as exc:
            info = DatasetInfo(entry, problem=str(exc))
        self._cache[entry.path] = (stamp, info)
        return info


def _checked(entry: DatasetEntry) -> DatasetInfo:
    """The summary of a usable dataset; a managed one first says what it still lacks."""
    if entry.kind == "managed":
        problems = read_manifest(entry.path).problems()
        if problems:
            return DatasetInfo(entry, problem="not ready: " + "; ".join(problems))
    return DatasetInfo(entry, summary=validate_image_folder(entry.path))


def _tree_stamp(root: Path) -> float:
    """Latest modification time of the root, its splits and class folders."""
    stamps = [root.stat().st_mtime]
    for split in SPLITS:
        folder = root / split
        if folder.is_dir():
            stamps.append(folder.stat().st_mtime)
            stamps.extend(child.stat().st_mtime for child in folder.iterdir() if child.is_dir())
    return max(stamps)
