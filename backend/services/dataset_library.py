"""Managed datasets for the app: made, filled by uploads (photos or a zip), thinned, deleted.

Uploads are staged beside the datasets as they stream in, checked in a thread, then moved in
under the dataset's lock (``food_vision.datasets.managed``); the staging folder goes away
whatever happens, so a refused, failed or cut-off upload leaves the dataset as it was. Pages
hear of every change through the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from backend.services.form_stream import Body, FormLimits, StagedForm, receive_form
from backend.services.hub import DatasetsChanged, Hub, ServerMessage
from backend.services.run_store import RunStore
from backend.services.uploads import MalformedUpload
from food_vision.datasets import managed
from food_vision.datasets.importing import import_archive, import_candidates
from food_vision.datasets.intake import DISK_FULL, Candidate, ImportReport, PhotoLimits
from food_vision.datasets.manifest import DatasetManifest
from food_vision.datasets.naming import check_class_name
from food_vision.datasets.sizes import human_size
from food_vision.datasets.sources import STAGING_DIR, new_staging
from food_vision.settings import Settings

T = TypeVar("T")
STALE_STAGING_SECONDS = 3600.0


class DatasetInUse(RuntimeError):
    """A queued or running run trains on the dataset: it must not change under it."""


class StorageFull(OSError):
    """The disk is full: nothing was added."""


@dataclass(frozen=True)
class DatasetDetail:
    manifest: DatasetManifest
    photos: list[managed.StoredPhoto]

    def to_dict(self) -> dict[str, Any]:
        problems = self.manifest.problems()
        photos = [
            {"id": p.image_id, "label": p.label, "split": p.split, "file": p.relative}
            for p in self.photos
        ]
        return {
            **self.manifest.to_dict(),
            "problems": problems,
            "ready": not problems,
            "photos": photos,
        }


class DatasetLibrary:
    def __init__(self, settings: Settings, store: RunStore, hub: Hub[ServerMessage]) -> None:
        self.settings = settings
        self.data_dir = settings.resolved_data_dir
        self.store = store
        self.hub = hub
        self.limits = PhotoLimits(settings.max_photo_bytes, settings.max_image_pixels)
        self._receiving = 0  # bytes of uploads staged but not yet moved in

    async def create(self, name: str, test_fraction: float | None) -> DatasetManifest:
        manifest = await self._change(
            managed.create_dataset, self.data_dir, name, test_fraction=test_fraction
        )
        return manifest

    async def detail(self, name: str) -> DatasetDetail:
        def read() -> DatasetDetail:
            manifest = managed.open_dataset(self.data_dir, name)
            photos = managed.stored_photos(self.data_dir / name).values()
            ordered = sorted(photos, key=lambda p: (p.label, p.split, p.image_id))
            return DatasetDetail(manifest, ordered)

        return await asyncio.to_thread(read)

    async def upload_photos(self, name: str, body: Body) -> ImportReport:
        """Photos of one class: multipart ``label`` and one or more ``files``."""
        await self.detail(name)  # 404 before a byte is read
        limit = self.settings.max_photo_bytes
        files = self.settings.max_photos_per_upload
        async with self._staged(body, "files", files=files, file_bytes=limit) as form:
            label = form.fields.get("label", "")
            if not label.strip():
                raise MalformedUpload("say which class the photos are for in the 'label' field")
            label = check_class_name(label)
            if not form.files:
                raise MalformedUpload("no photos: send them in one or more 'files' fields")
            report = ImportReport()
            for staged in form.files:
                if staged.too_large:
                    too_large = f"too large: over the {human_size(limit)} limit per photo"
                    report.skip(staged.filename, too_large)
            candidates = [
                Candidate(f.filename, f.path, label) for f in form.files if not f.too_large
            ]
            return await self._change(
                import_candidates, self.data_dir, name, candidates, self.limits, report, move=True
            )

    async def upload_archive(self, name: str, body: Body) -> ImportReport:
        """One zip (multipart ``file``): class folders, or ``train/`` and ``test/``."""
        await self.detail(name)
        limit = self.settings.max_dataset_upload_bytes
        room = await self._room()  # what the unpacked photos may take (the zip goes after)
        async with self._staged(body, "file", files=1, file_bytes=limit) as form:
            if not form.files:
                raise MalformedUpload("no archive: send the zip in the 'file' field")
            return await self._change(
                import_archive,
                self.data_dir,
                name,
                form.files[0].path,
                self.limits,
                max_bytes=room,
            )

    async def add_class(self, name: str, label: str) -> DatasetManifest:
        return await self._change(managed.add_class, self.data_dir, name, label)

    async def remove_class(self, name: str, label: str) -> DatasetManifest:
        await self._refuse_in_use(name)
        return await self._change(managed.remove_class, self.data_dir, name, label)

    async def remove_photo(self, name: str, image_id: str) -> DatasetManifest:
        await self._refuse_in_use(name)
        return await self._change(managed.remove_photo, self.data_dir, name, image_id)

    async def delete(self, name: str) -> None:
        await self._refuse_in_use(name)
        await self._change(managed.delete_dataset, self.data_dir, name)

    async def thumbnail(self, name: str, image_id: str) -> Path:
        return await asyncio.to_thread(managed.thumbnail_path, self.data_dir, name, image_id)

    async def clear_leftovers(self) -> None:
        """Staging folders a killed server left behind (an hour old: a command-line import
        may be using a fresh one)."""
        await asyncio.to_thread(_remove_stale, self.data_dir / STAGING_DIR)

    async def _change(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a change in a thread, then say so to the pages."""
        with _full_disk_named():
            result = await asyncio.to_thread(action, *args, **kwargs)
        self.hub.publish(DatasetsChanged())
        return result

    async def _refuse_in_use(self, name: str) -> None:
        records = await asyncio.to_thread(self.store.list)
        for record in records:
            if record.status.is_active and record.config.get("dataset") == name:
                raise DatasetInUse(
                    f"run {record.id} ({record.status.value}) uses {name}: "
                    "cancel it or wait until it ends"
                )

    async def _room(self) -> int:
        used = await asyncio.to_thread(managed.managed_bytes, self.data_dir)
        return self.settings.max_datasets_bytes - used - self._receiving

    @contextlib.asynccontextmanager
    async def _staged(
        self, body: Body, file_field: str, *, files: int, file_bytes: int
    ) -> AsyncIterator[StagedForm]:
        """The upload received into a fresh staging folder, removed at the end whatever
        happens; its bytes count against the datasets' room until then."""
        request_bytes = self.settings.max_dataset_upload_bytes
        limits = FormLimits(file_bytes, files, request_bytes, await self._room())
        folder = await asyncio.to_thread(new_staging, self.data_dir)
        size = 0
        try:
            with _full_disk_named():
                form = await receive_form(body, folder, file_field, limits)
            size = sum(f.size for f in form.files if not f.too_large)
            self._receiving += size
            yield form
        finally:
            self._receiving -= size
            await asyncio.to_thread(shutil.rmtree, folder, True)


@contextlib.contextmanager
def _full_disk_named() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise StorageFull(
                exc.errno, "the server's disk is full: nothing was changed; free some space"
            ) from None
        raise


def _remove_stale(folder: Path) -> None:
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        try:
            if time.time() - child.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue
