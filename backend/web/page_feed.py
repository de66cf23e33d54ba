"""The page's live HTML, rendered once per run update and shared by every open page.

One task follows the run hub and renders each update's fragments once; every page socket is
handed the same string through its own bounded queue, so 200 open pages cost one render per
update, not 200. A page that falls behind gets the snapshot instead of its backlog; the
snapshot is built once per change however many pages (re)connect meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from backend.services.container import Services
from backend.services.hub import DatasetsChanged, Hub, Lagged, RunUpdate, ServerMessage
from backend.services.run_view import RunView, advance
from backend.services.runs import Model
from backend.services.samples import Sample, list_samples
from backend.web import render
from backend.web.announcements import announcement
from food_vision.events import Started
from food_vision.runs import RunRecord, RunStatus

log = logging.getLogger("foodvision.server")


@dataclass(frozen=True)
class Snapshot:
    """Everything live on the page, at one version of the feed."""

    version: int
    view: RunView | None
    html: str


class PageFeed:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.pages: Hub[str] = Hub()
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._building = asyncio.Lock()

    async def run(self) -> None:
        """Follow the run hub until cancelled: one render per update, shared by all pages."""
        view: RunView | None = None
        async with self.services.hub.subscribe() as updates:
            while True:
                item = await updates.get()
                self._version += 1
                try:
                    view, html = await self._fragments(view, item)
                except Exception:  # the pages must not stop updating for one bad render
                    log.exception("cannot render a page update; the next one sends a snapshot")
                    view = None
                    continue
                self.pages.publish(html)

    async def snapshot(self) -> Snapshot:
        """The current snapshot, built at most once per version of the feed."""
        async with self._building:
            if self._snapshot is None or self._snapshot.version != self._version:
                version = self._version
                view = await self.services.runs.current_view()
                records = await asyncio.to_thread(self.services.store.list)
                models = await asyncio.to_thread(self.services.runs.usable_models)
                found = await asyncio.to_thread(
                    list_samples, self.services.settings.resolved_data_dir
                )
                datasets = render.dataset_choice(await self.services.datasets.list())
                queue = await self._queue_state(records)
                html = render.snapshot(view, records, models, found) + datasets + queue
                self._snapshot = Snapshot(version, view, html)
            return self._snapshot

    async def _queue_state(self, records: list[RunRecord]) -> str:
        busy = any(record.status.is_active for record in records)
        return render.queue_state(await self.services.runs.waiting(records), busy)

    async def _fragments(
        self, view: RunView | None, item: ServerMessage | Lagged
    ) -> tuple[RunView | None, str]:
        """The view after ``item`` and the fragments it changes (the snapshot when the feed
        lagged, runs were deleted or another run took over the panel)."""
        if isinstance(item, DatasetsChanged):
            return view, render.dataset_choice(await self.services.datasets.list())
        if not isinstance(item, RunUpdate) or view is None or item.record.id != view.id:
            snapshot = await self.snapshot()
            return snapshot.view, snapshot.html
        view = advance(view, item)
        html = render.run_panel(view, oob=True)
        ended = not item.record.status.is_active
        if render.touches_history(item.event) or ended:
            html += render.run_history(view, oob=True)
        if item.event is None or ended:
            records = await asyncio.to_thread(self.services.store.list)
            html += render.runs_list(records, oob=True) + await self._queue_state(records)
        if isinstance(item.event, Started) or ended:  # its dataset is prepared by now
            html += render.dataset_choice(await self.services.datasets.list())
        if ended:
            models, found = await self._models_and_samples()
            html += render.model_picker(models, oob=True)
            html += render.samples(found, has_models=bool(models), oob=True)
            _log_failure(item)
        if text := announcement(view, item.event):
            html += render.announcement(text)
        return view, html

    async def _models_and_samples(self) -> tuple[list[Model], list[Sample]]:
        models = await asyncio.to_thread(self.services.runs.usable_models)
        found = await asyncio.to_thread(list_samples, self.services.settings.resolved_data_dir)
        return models, found


def _log_failure(update: RunUpdate) -> None:
    """The whole error, server paths included, for the server's log; pages show it without."""
    if update.record.status is RunStatus.FAILED:
        log.warning("run %s failed: %s", update.record.id, update.record.error)
