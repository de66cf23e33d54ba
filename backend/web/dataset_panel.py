"""The page's datasets region: the managed datasets, and the open one with its classes,
counts, balance and thumbnails. Rendered whole after every change made from the page."""

from __future__ import annotations

from dataclasses import dataclass

from backend.services.container import Services
from backend.services.dataset_library import DatasetDetail
from backend.web import render
from food_vision.datasets.managed import StoredPhoto

THUMBNAILS_PER_CLASS = 24


@dataclass(frozen=True)
class ClassView:
    """One class as the page shows it; ``train_width``/``test_width`` are its balance bar's
    parts, as percentages of the largest class."""

    label: str
    train: int
    test: int
    photos: list[StoredPhoto]
    more: int
    train_width: float
    test_width: float


def class_views(detail: DatasetDetail) -> list[ClassView]:
    manifest = detail.manifest
    largest = max([1, *(manifest.count(label).total for label in manifest.classes)])
    views = []
    for label in manifest.classes:
        counts = manifest.count(label)
        photos = [p for p in detail.photos if p.label == label]
        views.append(
            ClassView(
                label=label,
                train=counts.train,
                test=counts.test,
                photos=photos[:THUMBNAILS_PER_CLASS],
                more=max(0, len(photos) - THUMBNAILS_PER_CLASS),
                train_width=100 * counts.train / largest,
                test_width=100 * counts.test / largest,
            )
        )
    return views


async def panel_html(
    services: Services, selected: str | None, *, error: str | None = None, notice: str = ""
) -> str:
    """The region with ``selected`` open (else the first managed dataset, if any)."""
    infos = [info for info in await services.datasets.list() if info.entry.kind == "managed"]
    names = [info.entry.name for info in infos]
    name = selected if selected in names else (names[0] if names else None)
    detail = await services.library.detail(name) if name else None
    return render.render(
        "datasets_panel",
        datasets=infos,
        detail=detail,
        classes=class_views(detail) if detail else [],
        error=error,
        notice=notice,
    )
