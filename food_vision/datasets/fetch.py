"""Datasets published as a zip archive: downloaded once, unpacked safely, found inside."""

from __future__ import annotations

import shutil
from pathlib import Path

from food_vision.datasets.archive import UnsafeArchiveError, safe_extract_zip
from food_vision.datasets.download import DownloadError, download_file
from food_vision.datasets.layout import has_splits
from food_vision.datasets.naming import MAX_DATASET_NAME_CHARS, is_valid_dataset_name

__all__ = ["fetch_archive_dataset", "split_root"]


def fetch_archive_dataset(
    name: str,
    url: str,
    root: Path,
    *,
    sha256: str | None = None,
    progress: bool = False,
) -> Path:
    """Download the zip at ``url`` into ``root/<name>`` and return the folder with the splits.

    The returned folder holds ``train/`` and ``test/`` (at the archive's top level, or inside
    its single top-level folder). An existing ``root/<name>`` is used without any request. The
    archive (``root/.downloads/<name>.zip``) is removed after extraction, and also when it is
    refused, so a later call downloads afresh.
    """
    if not is_valid_dataset_name(name):
        raise ValueError(
            f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-' "
            f"(max {MAX_DATASET_NAME_CHARS})"
        )
    root = Path(root)
    folder = root / name
    if folder.exists():
        found = split_root(folder)
        if found is None:
            raise DownloadError(
                f"{folder} exists but has no train/ and test/ folders; remove it to download "
                f"{name} again"
            )
        return found
    archive = root / ".downloads" / f"{name}.zip"
    download_file(url, archive, sha256=sha256, progress=progress)
    try:
        safe_extract_zip(archive, folder)
    except UnsafeArchiveError:
        archive.unlink(missing_ok=True)
        raise
    archive.unlink(missing_ok=True)
    found = split_root(folder)
    if found is None:
        shutil.rmtree(folder, ignore_errors=True)
        raise DownloadError(f"archive from {url} has no train/ and test/ folders at its top")
    return found


def split_root(folder: Path) -> Path | None:
    """``folder`` or its single top-level subfolder, whichever holds train/ and test/."""
    if has_splits(folder):
        return folder
    children = [
        child
        for child in folder.iterdir()
        if not child.name.startswith(".") and child.name != "__MACOSX"
    ]
    if len(children) == 1 and children[0].is_dir() and has_splits(children[0]):
        return children[0]
    return None
