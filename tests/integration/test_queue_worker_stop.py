"""The queue's worker stops at whatever moment of its start the server stops, and says so to
the database (it is not left registered as a live worker)."""

from __future__ import annotations

import asyncio

import pytest

from backend.services.run_queue import RunQueue

STOP_LIMIT = 60.0  # an upper bound for a stop on a loaded machine, not a measurement


async def never_called(run_id: str, job_id: int) -> None:
    raise AssertionError(f"no run was queued, yet {run_id} ({job_id}) was started")


@pytest.mark.parametrize("delay", [0.0, 0.001, 0.01, 0.05, 0.2, 1.0])
async def test_the_worker_stops_at_any_moment_of_its_start(queue_database, delay) -> None:
    queue = RunQueue(queue_database, max_queued=5, run_task=never_called)
    await queue.open()
    try:
        queue.start_worker("stopping-test")
        await asyncio.sleep(delay)
        await asyncio.wait_for(queue.stop_worker(), STOP_LIMIT)
        workers = await queue.query("SELECT id FROM procrastinate_workers")
        assert workers == []
    finally:
        await queue.close()
