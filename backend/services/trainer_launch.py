"""The one launch of a trainer, for the server's worker and any other: ``python -m
food_vision.train --config <run>/config.json`` in a session of its own, so that cancel can
signal its whole process group."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from backend.services.run_store import RunStore
from food_vision.process_group import parent_death_signal
from food_vision.settings import Settings

STDOUT_LINE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class TrainerOptions:
    home: Path
    data_dir: Path
    threads: int
    workers: int | None = None
    niceness: int = 0
    grace_seconds: float = 10.0
    python: str = sys.executable
    gpu: int | None = None  # the one GPU the trainer sees (one worker per GPU)

    @classmethod
    def from_settings(cls, settings: Settings, gpu: int | None = None) -> TrainerOptions:
        return cls(
            home=settings.home.resolve(),
            data_dir=settings.resolved_data_dir.resolve(),
            threads=settings.trainer_threads,
            workers=settings.trainer_workers,
            niceness=settings.trainer_niceness,
            grace_seconds=settings.grace_seconds,
            gpu=gpu,
        )


async def launch_trainer(
    options: TrainerOptions, store: RunStore, run_id: str
) -> asyncio.subprocess.Process:
    """``python -m food_vision.train --config <run>/config.json``, in its own session, killed
    by the kernel when the process that launched it ends: the one launch of a trainer, for the
    server's worker and ``foodvision worker`` alike."""
    argv = [
        options.python, "-m", "food_vision.train", "--events", "jsonl",
        "--config", str(store.config_path(run_id)),
        "--out", str(store.folder(run_id)),
        "--run-id", run_id,
        "--threads", str(options.threads),
        "--niceness", str(options.niceness),
    ]  # fmt: skip
    if options.workers is not None:
        argv += ["--workers", str(options.workers)]
    env = {
        **os.environ,
        "FOODVISION_HOME": str(options.home),
        "FOODVISION_DATA_DIR": str(options.data_dir),
        "PYTHONUNBUFFERED": "1",
    }
    if options.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(options.gpu)
    log_file = await asyncio.to_thread(open, store.log_path(run_id), "ab")
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            env=env,
            start_new_session=True,
            preexec_fn=parent_death_signal(),  # a worker killed outright takes its trainer along
            limit=STDOUT_LINE_LIMIT,
        )
    finally:
        await asyncio.to_thread(log_file.close)
