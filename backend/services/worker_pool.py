"""Worker processes that the event loop awaits, each replaced when it dies.

Each worker has a socket pair of its own to the server: a call is a pickled frame written to it
by the event loop, and the answer is read by the loop when it arrives. A round trip wakes two
processes and no thread, where ``ProcessPoolExecutor`` hands each call through a management
thread and a feeder thread in the server, threads that also contend for the server's GIL in a
burst. A 0.35 MB upload's round trip: 0.28-0.36 against 0.97-1.05 ms, and 0.26-0.34 against
0.81-0.92 ms of the server's CPU (idle machine, 200 calls, three runs each). Calls queue in
the worker's socket, so the next one starts as soon as the one before it ends.

The processes are forked from a forkserver that imports the inference code (torch) once, so
a new worker starts in a fraction of a second and shares those pages with its siblings.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import pickle
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar, cast

Result = TypeVar("Result")
PRELOAD = ["backend.services.inference_worker"]
HEADER = struct.Struct("!Q")  # the length of the pickled frame that follows
STOP_SECONDS = 5.0


class WorkerLost(RuntimeError):
    """A worker process died while it held this request; the next one gets a fresh worker."""


@functools.cache
def forkserver() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


@dataclass
class _Worker:
    process: BaseProcess
    connection: socket.socket
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    waiting: deque[asyncio.Future[Any]] = field(default_factory=deque)
    dead: bool = False

    def stop(self) -> None:
        """Close its socket (the worker ends after the call under way); kill it if it
        does not end in time."""
        self.dead = True
        with contextlib.suppress(OSError):  # already closed, after the worker died
            self.connection.shutdown(socket.SHUT_RDWR)  # now: the transport closes it later
        self.writer.close()
        self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class WorkerPool:
    def __init__(
        self,
        name: str,
        processes: int,
        initializer: Callable[..., None],
        initargs: tuple[object, ...],
    ) -> None:
        self.name = name
        self._setup = (initializer, initargs)
        self._workers: list[_Worker | None] = [None] * processes
        self._starting = asyncio.Lock()
        self._readers: set[asyncio.Task[None]] = set()
        self._closed = False

    async def run(self, function: Callable[..., Result], *args: object) -> Result:
        """``function(*args)`` in a worker process (both must pickle)."""
        frame = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        worker = await self._pick()
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        worker.waiting.append(future)
        worker.writer.writelines([HEADER.pack(len(frame)), frame])
        with contextlib.suppress(ConnectionError):  # the worker died: its reader fails the call
            await worker.writer.drain()
        return await future

    async def _pick(self) -> _Worker:
        """The live worker with the fewest calls waiting; dead ones are replaced first."""
        async with self._starting:
            for index, worker in enumerate(self._workers):
                if (worker is None or worker.dead) and not self._closed:
                    self._workers[index] = await self._start()
            if self._closed:
                self.close()  # also stops a worker that started while the pool closed
                raise WorkerLost(f"the {self.name} workers are stopping")
        live = [worker for worker in self._workers if worker is not None and not worker.dead]
        if not live:
            raise WorkerLost(f"the {self.name} worker stopped; retry in a moment")
        return min(live, key=lambda worker: len(worker.waiting))

    async def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        process = forkserver().Process(
            target=serve, args=(theirs, *self._setup), name=f"foodvision-{self.name}", daemon=True
        )
        try:
            process.start()
        except OSError as exc:
            ours.close()
            raise WorkerLost(f"the {self.name} worker could not start: {exc}") from None
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker = _Worker(process, ours, reader, writer)
        task = asyncio.create_task(self._read(worker))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)
        return worker

    async def _read(self, worker: _Worker) -> None:
        """Hand each answer to the oldest call waiting; at the end of the socket, fail the
        calls left."""
        try:
            while True:
                (length,) = HEADER.unpack(await worker.reader.readexactly(HEADER.size))
                body = await worker.reader.readexactly(length)
                future = worker.waiting.popleft()
                if not future.done():
                    _settle(future, bytearray(body))  # arrays in it stay writable
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            worker.dead = True
            worker.writer.close()
            while worker.waiting:
                future = worker.waiting.popleft()
                if not future.done():
                    future.set_exception(
                        WorkerLost(
                            f"the {self.name} worker stopped during this request; retry in a moment"
                        )
                    )

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            if worker is not None:
                worker.stop()
        for task in self._readers:
            task.cancel()


def _settle(future: asyncio.Future[Any], body: bytearray) -> None:
    try:
        succeeded, value = pickle.loads(body)
    except Exception as exc:
        future.set_exception(RuntimeError(f"an answer that cannot be read: {exc}"))
        return
    if succeeded:
        future.set_result(value)
    else:
        future.set_exception(cast(BaseException, value))


def serve(
    connection: socket.socket, initializer: Callable[..., None], initargs: tuple[object, ...]
) -> None:
    """A worker's life: set up, then answer calls in order until the server closes the socket.

    Ctrl-C reaches the whole process group: the server stops its workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    initializer(*initargs)
    with (
        contextlib.suppress(ConnectionError),  # the server went away during a call
        connection,
        connection.makefile("rb") as incoming,
        connection.makefile("wb") as outgoing,
    ):
        while len(header := incoming.read(HEADER.size)) == HEADER.size:
            frame = bytearray(HEADER.unpack(header)[0])  # arrays in it stay writable
            if incoming.readinto(frame) < len(frame):
                return  # the server went away while it wrote
            function, args = pickle.loads(frame)
            answer = _outcome(function, args)
            outgoing.write(HEADER.pack(len(answer)) + answer)
            outgoing.flush()


def _outcome(function: Callable[..., object], args: tuple[object, ...]) -> bytes:
    """The pickled (True, result), or (False, the exception): as the caller will raise it."""
    try:
        return pickle.dumps((True, function(*args)), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        try:
            return pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
        except Exception:
            return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
