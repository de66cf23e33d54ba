"""A trainer subprocess as the server runs it, its event channel read with deadlines."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from food_vision.events import Event
from food_vision.events import decode as decode_event
from tests.utils.processes import LineReader, group_members


class Trainer:
    """A trainer subprocess in its own session, its event channel read line by line."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "food_vision.train", "--events", "jsonl", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        assert self.process.stdout is not None
        self.reader = LineReader(self.process.stdout)
        self.events: list[Event] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def next_event(self, timeout: float) -> Event | None:
        try:
            line = self.reader.next(timeout)
        except queue.Empty:
            pytest.fail(f"no event for {timeout} s; trainer log:\n{self.log_text()}")
        if line is None:
            return None
        event = decode_event(line)  # strict: every line on the channel is a valid event
        self.events.append(event)
        return event

    def wait_for(self, matches: Callable[[Event], bool], timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(0.01, deadline - time.monotonic()))
            if event is None:
                pytest.fail(f"channel closed before the event; log:\n{self.log_text()}")
            if matches(event):
                return event

    def rest(self, timeout: float) -> list[Event]:
        """Events until the channel closes."""
        deadline = time.monotonic() + timeout
        found = []
        while (event := self.next_event(max(0.01, deadline - time.monotonic()))) is not None:
            found.append(event)
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        for member in group_members(self.pid):
            member.kill()
        self.reader.close()
