"""``foodvision worker``: trains queued runs on this machine, one at a time, taken from the run
queue's PostgreSQL (``FOODVISION_DATABASE_URL``, else the embedded one a ``foodvision serve``
with the same ``FOODVISION_HOME`` runs, reached on its unix socket).

The run folders live in the shared run store (``FOODVISION_HOME``), written here as the
server's own worker writes them; the server learns of each event through PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys

import psycopg
from pydantic import ValidationError

from backend.server import LOG_FORMAT, settings_error
from backend.services.event_channel import STOP_CHANNEL, EventChannel, connect, listen
from backend.services.private_postgres import PrivatePostgres
from backend.services.run_queue import QueueUnavailableError, RunQueue
from backend.services.run_store import RunStore
from backend.services.task_stop import cancel_and_wait
from backend.services.trainer_launch import TrainerOptions
from backend.services.training import RunNotActiveError, TrainingManager
from food_vision.settings import Settings, get_settings

log = logging.getLogger("foodvision.worker")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
DRAIN_SECONDS = 10.0  # for the last events to reach the database at shutdown


def worker_name(value: str) -> str:
    """``--name``: how the page and the logs call this worker."""
    if not NAME_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a worker name: 1 to 63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def gpu_index(value: str) -> int:
    """``--gpu``: the index of one GPU of this machine (CUDA numbering)."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a GPU index (0, 1, ...)")
    import torch

    count = torch.cuda.device_count()
    if int(value) >= count:
        found = f"its GPUs are 0 to {count - 1}" if count else "it has no CUDA GPU"
        raise argparse.ArgumentTypeError(f"there is no GPU {value} on this machine: {found}")
    return int(value)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser("worker", help="train queued runs on this machine")
    worker.add_argument(
        "--name", type=worker_name, default=None,
        help="this worker's name (default: <host name>-<pid>)",
    )  # fmt: skip
    worker.add_argument(
        "--gpu", type=gpu_index, default=None,
        help="train on this GPU only (one worker per GPU); default: every GPU it sees",
    )  # fmt: skip
    worker.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    try:
        settings = get_settings()
    except ValidationError as exc:
        return settings_error(exc)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    try:
        asyncio.run(work(settings, name, args.gpu))
    except QueueUnavailableError as exc:
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        print(f"error: cannot reach the run queue's database ({reason}); {_where(settings)}",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


def _where(settings: Settings) -> str:
    if settings.database_url:
        return "check FOODVISION_DATABASE_URL and that this machine may connect to it"
    return (
        f"no FOODVISION_DATABASE_URL, and no server runs the embedded one under "
        f"{settings.postgres_dir.resolve()}: start `foodvision serve` with this "
        "FOODVISION_HOME first, or set FOODVISION_DATABASE_URL"
    )


async def work(settings: Settings, name: str, gpu: int | None) -> None:
    """Take queued runs until SIGTERM or SIGINT; the run under way is then cancelled."""
    url = settings.database_url or PrivatePostgres(settings.postgres_dir.resolve()).url
    channel = EventChannel(url)
    training = TrainingManager(
        RunStore(settings.runs_dir), channel, TrainerOptions.from_settings(settings, gpu)
    )

    async def train(run_id: str, job_id: int) -> None:
        await channel.claim(run_id, name)
        await training.run(run_id, job_id)

    async def stop_and_keep(run_id: str) -> None:
        with contextlib.suppress(RunNotActiveError):
            await training.stop(run_id)

    try:  # one quick try first: the queue's pool would retry for half a minute
        async with await connect(url):
            pass
    except (psycopg.Error, OSError) as exc:
        raise QueueUnavailableError(exc) from exc
    queue = RunQueue(url, settings.max_queued, train, settings.heartbeat_seconds)
    await queue.open()
    helpers = [asyncio.create_task(channel.run()),
               asyncio.create_task(listen(url, STOP_CHANNEL, stop_and_keep))]  # fmt: skip
    queue.start_worker(name)
    log.info("worker %s takes queued runs (GPU: %s)", name, "all" if gpu is None else gpu)
    await _until_signalled()
    log.info("worker %s stopping", name)
    await asyncio.gather(queue.stop_worker(), training.shutdown())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(channel.drain(), DRAIN_SECONDS)
    await asyncio.gather(*map(cancel_and_wait, helpers), return_exceptions=True)
    await queue.close()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
