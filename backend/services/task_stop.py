"""Stopping a background task for sure.

A cancellation can be lost: when it lands just as a wait inside a library ends
(``asyncio.wait_for`` before Python 3.12 returns the result and drops it, and psycopg's pool
waits that way for a connection), the task carries on as if never cancelled, and whoever
awaits it waits forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_SECONDS = 1.0


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end, cancelling it again while it goes on; an
    exception it ended with (other than the cancellation) is raised here."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
    if not task.cancelled():
        task.result()
