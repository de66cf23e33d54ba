"""Where and how a run computes: the device, the seeds, the CPU threads and priority."""

from __future__ import annotations

import contextlib
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
    """Lower this process's priority (its threads started later and its data loader workers
    inherit it): the trainer is batch work, and a server beside it should answer first.

    Above 0 the process also joins Linux's idle scheduling class, where a niceness alone is
    not enough: with every core busy training, a waking server thread still waited its turn
    behind the trainer's threads (/healthz p99 five times its idle figure on 2 cores).
    """
    if not niceness:
        return
    for thread in _threads_of_this_process():  # on Linux both are set per thread
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.setpriority(
                os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness
            )
        if hasattr(os, "SCHED_IDLE"):
            with contextlib.suppress(OSError):  # refused in some containers: the niceness stays
                os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))


def _threads_of_this_process() -> list[int]:
    """Every thread's id (this one alone where there is no /proc)."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def set_threads(threads: int | None) -> None:
    """Limit torch's CPU threads (None keeps torch's own choice)."""
    if threads:
        torch.set_num_threads(threads)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
