"""Signalling a whole process group: a run's trainer, its data loader workers and its ranks."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to group ``pgid``; a group that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux; elsewhere a no-op):
    a process started in its own session (a data loader worker, a rank torchrun started) is
    out of reach of its run's group signal."""
    parent_death_signal()()


def parent_death_signal() -> Callable[[], object]:
    """The call :func:`die_with_parent` makes, looked up now: a ``preexec_fn`` for a child
    forked from a threaded process, which must not load libraries between fork and exec."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None
    return functools.partial(prctl, PR_SET_PDEATHSIG, signal.SIGKILL)
