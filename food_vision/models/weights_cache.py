"""Where downloaded ImageNet weights live (torch's cache) and where they come from, without
importing torch: the server says which models have their weights here before a run starts."""

from __future__ import annotations

import os
from pathlib import Path

from food_vision.models import Architecture

OFFICIAL_BASE = "https://download.pytorch.org/models/"


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()``: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(cache, "torch")
    return Path(torch_home).expanduser() / "hub"


def checkpoint_dir() -> Path:
    return torch_hub_dir() / "checkpoints"


def weights_url(official_url: str) -> str:
    """``official_url``, or its copy under ``FOODVISION_WEIGHTS_MIRROR`` when one is set."""
    mirror = os.environ.get("FOODVISION_WEIGHTS_MIRROR")
    if mirror and official_url.startswith(OFFICIAL_BASE):
        return mirror.rstrip("/") + "/" + official_url[len(OFFICIAL_BASE) :]
    return official_url


def needs_download(arch: Architecture) -> bool:
    """Whether starting ``arch`` from ImageNet weights would download them first."""
    return arch.weights == "download" and not (checkpoint_dir() / arch.weights_file).is_file()


def download_url(arch: Architecture) -> str:
    return weights_url(OFFICIAL_BASE + arch.weights_file)
