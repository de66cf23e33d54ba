"""The worker pool on its own: real forkserver processes, calls over their sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator

import pytest

from backend.services.worker_pool import WorkerLost, WorkerPool

SET_UP: dict[str, str] = {}


def set_up(value: str) -> None:
    SET_UP["value"] = value


def set_up_value() -> str | None:
    return SET_UP.get("value")


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def unpicklable_answer() -> object:
    return lambda: None


@contextlib.contextmanager
def pool(processes: int = 1) -> Iterator[WorkerPool]:
    workers = WorkerPool("test", processes, set_up, ("ready",))
    try:
        yield workers
    finally:
        workers.close()


async def test_a_call_runs_in_a_set_up_worker_process():
    with pool() as workers:
        assert await workers.run(os.getpid) != os.getpid()
        assert await workers.run(set_up_value) == "ready"
        assert await workers.run(len, b"x" * 5_000_000) == 5_000_000  # frames of any size


async def test_calls_queue_in_the_worker_and_each_gets_its_own_answer():
    with pool() as workers:
        answers = await asyncio.gather(*(workers.run(pow, n, 2) for n in range(40)))
        assert answers == [n * n for n in range(40)]


async def test_an_error_comes_back_as_itself_and_the_worker_lives_on():
    with pool() as workers:
        pid = await workers.run(os.getpid)
        with pytest.raises(ValueError, match="invalid literal"):
            await workers.run(int, "not a number")
        with pytest.raises(Exception, match="pickle"):
            await workers.run(unpicklable_answer)
        assert await workers.run(os.getpid) == pid


async def test_a_worker_that_dies_fails_its_calls_and_is_replaced():
    with pool() as workers:
        pid = await workers.run(os.getpid)
        killer = asyncio.ensure_future(workers.run(os._exit, 1))
        behind = asyncio.ensure_future(workers.run(sleep_then_pid, 0))
        with pytest.raises(WorkerLost, match="retry"):
            await killer
        with pytest.raises(WorkerLost):
            await behind  # queued behind the call that killed the worker
        assert await workers.run(os.getpid) not in (pid, os.getpid())


async def test_calls_go_to_the_least_busy_worker():
    with pool(processes=2) as workers:
        await asyncio.gather(workers.run(os.getpid), workers.run(os.getpid))
        pids = await asyncio.gather(*(workers.run(sleep_then_pid, 0.3) for _ in range(2)))
        assert len(set(pids)) == 2


async def test_close_ends_the_worker_processes():
    with pool() as workers:
        pid = await workers.run(os.getpid)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(pid)
    with pytest.raises(WorkerLost, match="stopping"):
        await workers.run(os.getpid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
