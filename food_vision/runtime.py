"""Where and how a run computes: the device, the seeds, the CPU threads and priority."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def pick_device(name: str) -> torch.device:
    """``auto`` is CUDA when present, else the CPU; asking for a missing CUDA is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Python's, NumPy's and torch's generators, so a seed repeats a run's shuffles and init."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def yield_cpu(niceness: int) -> None:
    """Lower this process's priority (its data loader workers inherit it): the trainer is
    batch work, and a server beside it should answer first."""
    if niceness:
        os.nice(niceness)


def set_threads(threads: int | None) -> None:
    """Limit torch's CPU threads (None keeps torch's own choice)."""
    if threads:
        torch.set_num_threads(threads)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
