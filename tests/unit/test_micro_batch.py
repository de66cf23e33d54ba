"""The batcher's own rules, with a forward pass the test opens and closes by hand."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from backend.services.micro_batch import PIPELINE_DEPTH, MicroBatcher, OverloadedError


class HeldForward:
    """A forward pass that returns each row's input value once the test lets it finish."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.running = 0
        self.most_running = 0
        self.release = asyncio.Event()

    async def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.wait()
            if (batch < 0).any():
                raise ValueError("a bad batch")
            return batch * 10
        finally:
            self.running -= 1


def batcher(forward: HeldForward, max_batch: int = 2, max_pending: int = 64) -> MicroBatcher:
    return MicroBatcher(forward, window_seconds=0.0, max_batch=max_batch, max_pending=max_pending)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_full_batch_is_sent_while_another_runs():
    forward = HeldForward()
    micro = batcher(forward)
    results = [asyncio.ensure_future(micro.submit(np.array([i]))) for i in range(5)]
    await settle()
    assert forward.calls == [2, 2]  # the fifth waits: a partial batch is not queued
    assert forward.most_running == PIPELINE_DEPTH
    forward.release.set()
    assert [int(r[0]) for r in await asyncio.gather(*results)] == [0, 10, 20, 30, 40]
    assert forward.calls == [2, 2, 1]
    assert forward.most_running == PIPELINE_DEPTH
    assert micro.idle


async def test_a_partial_batch_waits_for_the_pass_under_way_and_gathers_meanwhile():
    forward = HeldForward()
    micro = batcher(forward, max_batch=4)
    first = asyncio.ensure_future(micro.submit(np.array([1])))
    await settle()
    later = [asyncio.ensure_future(micro.submit(np.array([i]))) for i in (2, 3)]
    await settle()
    assert forward.calls == [1]
    forward.release.set()
    await asyncio.gather(first, *later)
    assert forward.calls == [1, 2]


async def test_a_failed_pass_fails_its_own_batch_only():
    forward = HeldForward()
    micro = batcher(forward)
    bad = [asyncio.ensure_future(micro.submit(np.array([-1]))) for _ in range(2)]
    good = [asyncio.ensure_future(micro.submit(np.array([i]))) for i in (4, 5)]
    await settle()
    forward.release.set()
    for future in bad:
        with pytest.raises(ValueError, match="a bad batch"):
            await future
    assert [int(r[0]) for r in await asyncio.gather(*good)] == [40, 50]
    assert micro.idle


async def test_a_queue_beyond_capacity_is_refused_not_piled_up():
    forward = HeldForward()
    micro = batcher(forward, max_batch=1, max_pending=2)
    outcomes = []
    for i in range(8):
        outcomes.append(asyncio.ensure_future(micro.submit(np.array([i]))))
        await settle()
    forward.release.set()
    results = await asyncio.gather(*outcomes, return_exceptions=True)
    refused = [r for r in results if isinstance(r, OverloadedError)]
    assert len(refused) == 8 - PIPELINE_DEPTH - 2  # two in passes, two waiting
    assert "retry" in str(refused[0])
    assert [int(r[0]) for r in results[:4]] == [0, 10, 20, 30]
