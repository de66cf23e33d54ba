"""The trainer's lower CPU priority reaches every thread it has, in the idle class on Linux."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, threading
from food_vision.runtime import yield_cpu
started = threading.Event(); done = threading.Event()
threading.Thread(target=lambda: (started.set(), done.wait())).start()
started.wait()
before = os.getpriority(os.PRIO_PROCESS, 0)
yield_cpu(int(os.environ["NICENESS"]))
threads = [int(name) for name in os.listdir("/proc/self/task")]
print(json.dumps({"before": before, "threads": [
    [os.sched_getscheduler(t), os.getpriority(os.PRIO_PROCESS, t)] for t in threads]}))
done.set()
"""


def probe(niceness: int) -> tuple[int, list[list[int]]]:
    """The niceness before, then each thread's scheduling policy and niceness after."""
    env = {**os.environ, "NICENESS": str(niceness)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    return seen["before"], seen["threads"]


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_every_thread_started_before_goes_idle_and_nicer() -> None:
    before, threads = probe(5)
    assert len(threads) >= 2  # the main thread, the waiting one (and torch's own)
    for policy, niceness in threads:
        assert policy == os.SCHED_IDLE
        assert niceness == min(19, before + 5)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_niceness_zero_leaves_the_trainer_an_equal() -> None:
    before, threads = probe(0)
    for policy, niceness in threads:
        assert policy == os.SCHED_OTHER
        assert niceness == before
