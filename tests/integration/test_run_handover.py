"""A worker takes a run's job the moment it is queued, before its submitter has finished the
run's record: it starts from the whole record, and never has its own writes overwritten."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.services import training as training_module
from backend.services.hub import Hub, ServerMessage
from backend.services.run_store import RunStore
from backend.services.trainer_launch import TrainerOptions
from backend.services.training import TrainingManager, WorkerStoppingError
from food_vision.config import TrainConfig
from food_vision.datasets.demo import generate_demo
from food_vision.runs import RunRecord, RunStatus

JOB_ID = 7
SWEEP = "20260101-000000-abcdef"
RUN_LIMIT = 300.0  # a trainer on a loaded 2-core machine; an upper bound, not a measurement


@pytest.fixture
def worker(tmp_path: Path) -> tuple[RunStore, TrainingManager]:
    generate_demo(tmp_path / "data" / "tiny", train_per_class=8, test_per_class=2, size=32)
    store = RunStore(tmp_path / "runs")
    options = TrainerOptions(home=tmp_path, data_dir=tmp_path / "data", threads=1)
    return store, TrainingManager(store, Hub[ServerMessage](), options)


def queued(store: RunStore) -> RunRecord:
    """A run as its submitter first writes it: queued, its job not named yet."""
    config = {"dataset": "tiny", "architecture": "tinyvgg", "batch_size": 8, "epochs": 1}
    return store.create(TrainConfig.parse(config))


async def test_the_worker_starts_once_the_submitter_has_named_the_job(worker) -> None:
    store, training = worker
    record = queued(store)
    run = asyncio.create_task(training.run(record.id, JOB_ID))
    await asyncio.sleep(0.5)
    assert training.active is None and not run.done()
    await store.asave(record.evolve(job_id=JOB_ID, sweep=SWEEP))
    await asyncio.wait_for(run, RUN_LIMIT)
    final = store.get(record.id)
    assert final.status is RunStatus.COMPLETED, final.error
    assert (final.job_id, final.sweep) == (JOB_ID, SWEEP)


async def test_a_record_whose_submitter_died_is_taken_as_it_is(worker, monkeypatch) -> None:
    monkeypatch.setattr(training_module, "SUBMIT_WAIT_SECONDS", 0.2)
    store, training = worker
    record = queued(store)
    await asyncio.wait_for(training.run(record.id, JOB_ID), RUN_LIMIT)
    final = store.get(record.id)
    assert final.status is RunStatus.COMPLETED, final.error
    assert final.job_id == JOB_ID


async def test_a_run_cancelled_while_its_job_waited_is_left_alone(worker) -> None:
    store, training = worker
    record = queued(store)
    await store.asave(record.evolve(status=RunStatus.CANCELLED, job_id=JOB_ID))
    await asyncio.wait_for(training.run(record.id, JOB_ID), RUN_LIMIT)
    assert store.get(record.id).status is RunStatus.CANCELLED
    assert training.active is None


async def test_a_worker_stopping_while_it_waits_leaves_the_run_queued(worker) -> None:
    store, training = worker
    record = queued(store)
    run = asyncio.create_task(training.run(record.id, JOB_ID))
    await asyncio.sleep(0.2)
    await training.shutdown()
    with pytest.raises(WorkerStoppingError):
        await asyncio.wait_for(run, RUN_LIMIT)
    assert store.get(record.id).status is RunStatus.QUEUED
