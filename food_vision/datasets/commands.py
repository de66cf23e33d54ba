"""``foodvision datasets --check DIR`` and ``--import ZIP_OR_DIR --name NAME``: the page's
import from a terminal, printing the same per-file report."""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from food_vision.datasets.archive import UnsafeArchiveError
from food_vision.datasets.importing import check_folder, import_archive, import_folder
from food_vision.datasets.intake import ImportReport, PhotoLimits
from food_vision.datasets.managed import (
    DatasetExists,
    DatasetNotFound,
    create_dataset,
    delete_dataset,
    managed_bytes,
    open_dataset,
)
from food_vision.datasets.manifest import (
    DEFAULT_TEST_FRACTION,
    MAX_TEST_FRACTION,
    MIN_TEST_FRACTION,
    DatasetManifest,
    SplitRule,
)
from food_vision.settings import Settings

EXIT_NOT_READY = 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``--check`` or ``--import``; a refusal is one ``error:`` line and exit 1."""
    limits = PhotoLimits(settings.max_photo_bytes, settings.max_image_pixels)
    try:
        fraction = _test_fraction(args.test_fraction)
        if args.check is not None:
            return _check(_folder(args.check), limits, fraction)
        if not args.name:
            raise ValueError("--import needs --name NAME: the dataset to fill")
        return _import(args.import_from, args.name, limits, fraction, settings)
    except (ValueError, LookupError, UnsafeArchiveError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _test_fraction(value: float | None) -> float | None:
    if value is None:
        return None
    try:
        return SplitRule(test_fraction=value).test_fraction
    except ValidationError:
        raise ValueError(
            f"--test-fraction must be between {MIN_TEST_FRACTION} and {MAX_TEST_FRACTION}"
        ) from None


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(f"no folder {path}")
    return path


def _check(folder: Path, limits: PhotoLimits, fraction: float | None) -> int:
    result = check_folder(folder, limits, test_fraction=fraction or DEFAULT_TEST_FRACTION)
    for line in report_lines(result.report, result.manifest):
        print(line)
    return EXIT_NOT_READY if result.manifest.problems() else 0


def _import(
    source: Path, name: str, limits: PhotoLimits, fraction: float | None, settings: Settings
) -> int:
    data_dir = settings.resolved_data_dir
    if not source.exists():
        raise ValueError(f"no file or folder {source}")
    if not source.is_dir() and not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a folder nor a zip archive")
    made = _open_or_make(data_dir, name, fraction, source)
    try:
        if source.is_dir():
            report = import_folder(data_dir, name, source, limits, move=False)
        else:
            room = max(settings.max_datasets_bytes - managed_bytes(data_dir), 0)
            report = import_archive(data_dir, name, source, limits, max_bytes=room)
    except BaseException:
        if made:  # a refused import leaves nothing behind
            delete_dataset(data_dir, name)
        raise
    for line in report_lines(report, open_dataset(data_dir, name)):
        print(line)
    return 0


def _open_or_make(data_dir: Path, name: str, fraction: float | None, source: Path) -> bool:
    """Whether the dataset had to be made."""
    try:
        open_dataset(data_dir, name)
    except DatasetNotFound:
        if (data_dir / name).exists():
            raise
        create_dataset(data_dir, name, test_fraction=fraction, source=f"import {source.name}")
        return True
    if fraction is not None:
        raise DatasetExists(f"{name} exists: its test fraction was set when it was made")
    return False


def report_lines(report: ImportReport, manifest: DatasetManifest) -> Iterator[str]:
    """One line per file, then the counts per class, then whether it can train."""
    for item in report.accepted:
        yield f"accepted   {item['file']}  ->  {item['label']} ({item['split']})"
    for item in report.duplicates:
        yield f"duplicate  {item['file']}  (same as {item['same_as']})"
    for item in report.skipped:
        yield f"skipped    {item['file']}: {item['reason']}"
    yield (
        f"{len(report.accepted)} accepted, {len(report.duplicates)} duplicates, "
        f"{len(report.skipped)} skipped"
    )
    width = max([5, *(len(label) for label in manifest.classes)])
    yield f"{'class':<{width}}  train   test"
    for label in manifest.classes:
        counts = manifest.count(label)
        yield f"{label:<{width}}  {counts.train:>5}  {counts.test:>5}"
    problems = manifest.problems()
    if problems:
        yield "not ready to train: " + "; ".join(problems)
    else:
        yield f"ready to train: {len(manifest.classes)} classes, {manifest.num_images} photos"
