"""Stopping a task whose first cancellation was lost."""

from __future__ import annotations

import asyncio

import pytest

from backend.services.task_stop import cancel_and_wait

STOP_LIMIT = 30.0  # an upper bound for the test to end, not a measurement


async def lost_its_first_cancellation(resumed: asyncio.Event) -> None:
    """As a task whose cancellation landed while a library's wait ended: it carries on."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
    resumed.set()
    await asyncio.sleep(3600)


async def test_a_task_that_lost_its_cancellation_is_cancelled_again() -> None:
    resumed = asyncio.Event()
    task = asyncio.create_task(lost_its_first_cancellation(resumed))
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), STOP_LIMIT)
    assert resumed.is_set() and task.cancelled()


async def test_what_the_task_failed_with_is_raised() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("could not clean up") from None

    task = asyncio.create_task(fails_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="could not clean up"):
        await cancel_and_wait(task)


async def test_a_finished_task_is_left_as_it_is() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    await cancel_and_wait(task)
    assert not task.cancelled()
