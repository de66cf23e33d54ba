"""The names a dataset folder is built from, in one place so every layer agrees on them."""

from __future__ import annotations

import re

SPLITS: tuple[str, ...] = ("train", "test")
SAMPLES_DIR = "samples"  # extra pictures for the prediction panel, in neither split
MAX_DATASET_NAME_CHARS = 64
# A plain folder name: no separator, never hidden, never "." or "..".
DATASET_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_DATASET_NAME_CHARS - 1}}}")


def is_valid_dataset_name(name: str) -> bool:
    """True when ``name`` can be a dataset's folder name inside the data directory."""
    return DATASET_NAME.fullmatch(name) is not None
