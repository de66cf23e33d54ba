"""Signalling a whole process group: a run's trainer, its data loader workers and its ranks."""

from __future__ import annotations

import contextlib
import os


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to group ``pgid``; a group that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
