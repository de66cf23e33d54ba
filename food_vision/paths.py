"""Where FoodVision keeps its files; read from the environment at call time, never at import."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """``$FOODVISION_HOME``, by default ``./.foodvision``."""
    return Path(os.environ.get("FOODVISION_HOME", ".foodvision")).expanduser()


def data_dir() -> Path:
    """``$FOODVISION_DATA_DIR``, by default ``<home>/data``."""
    configured = os.environ.get("FOODVISION_DATA_DIR")
    return Path(configured).expanduser() if configured else home_dir() / "data"


def runs_dir() -> Path:
    return home_dir() / "runs"
