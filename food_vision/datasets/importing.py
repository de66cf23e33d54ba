"""Bringing photos into a managed dataset, and checking a folder without importing it: one
path for the page, the API and the command line, so all of them answer with the same report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from food_vision.datasets.intake import Candidate, ImportReport, PhotoLimits, check_photos
from food_vision.datasets.managed import add_photos
from food_vision.datasets.manifest import DatasetManifest, SplitRule, count_by_class
from food_vision.datasets.placing import plan_photos
from food_vision.datasets.sources import find_photos, staging_area, unpack_archive


def import_candidates(
    data_dir: Path,
    name: str,
    candidates: Sequence[Candidate],
    limits: PhotoLimits,
    report: ImportReport,
    *,
    move: bool,
    labels: Sequence[str] = (),
) -> ImportReport:
    """Check the candidates (thumbnails made in a staging folder), then add those that pass."""
    with staging_area(data_dir) as staging:
        checked = check_photos(candidates, limits, report, thumbnails=staging / "thumbnails")
        add_photos(data_dir, name, checked, report, move=move, labels=labels)
    return report


def import_folder(
    data_dir: Path, name: str, folder: Path, limits: PhotoLimits, *, move: bool
) -> ImportReport:
    """A folder of class folders, or of ``train/`` and ``test/`` (their split is kept)."""
    report = ImportReport()
    found = find_photos(folder, report)
    return import_candidates(
        data_dir, name, found.candidates, limits, report, move=move, labels=found.labels
    )


def import_archive(
    data_dir: Path, name: str, archive: Path, limits: PhotoLimits, *, max_bytes: int
) -> ImportReport:
    """A zip laid out like a folder for :func:`import_folder`, unpacked safely first;
    :class:`~food_vision.datasets.archive.UnsafeArchiveError` refuses it whole."""
    with staging_area(data_dir) as staging:
        unpacked = unpack_archive(archive, staging, max_bytes=max_bytes)
        return import_folder(data_dir, name, unpacked, limits, move=True)


@dataclass(frozen=True)
class FolderCheck:
    """What importing a folder would give: the report, and the dataset it would make."""

    report: ImportReport
    manifest: DatasetManifest


def check_folder(folder: Path, limits: PhotoLimits, *, test_fraction: float) -> FolderCheck:
    """Check every file of ``folder`` as an import would, changing nothing."""
    report = ImportReport()
    found = find_photos(folder, report)
    checked = check_photos(found.candidates, limits, report)
    classes = list(found.labels)
    placements = plan_photos(checked, {}, classes, test_fraction, report)
    counts = count_by_class((item.label, item.split) for item in placements)
    manifest = DatasetManifest(
        name=folder.name,
        classes=classes,
        counts=counts,
        source=f"folder {folder}",
        split=SplitRule(test_fraction=test_fraction),
        created=0,
        updated=0,
    )
    report.counts = manifest.count_table()
    return FolderCheck(report, manifest)
