"""Data-parallel training for real: ``python -m food_vision.train --processes 2`` launching its
ranks under torchrun (gloo on the CPU), by hand, over two "machines" on 127.0.0.1, and from
the server's API and page. Tiny data keeps each run to seconds; limits are upper bounds."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from food_vision.bundle import WEIGHTS_FILE
from food_vision.evaluation import read_evaluation
from food_vision.events import Completed, EpochEnd, Evaluated, Failed, Progress, Started
from food_vision.events import decode as decode_event
from tests.utils.factories import make_dataset
from tests.utils.processes import Descendants, child_env, wait_until_dead
from tests.utils.server import free_port
from tests.utils.trainer import Trainer

RUN_LIMIT = 240.0  # three interpreters importing torch on one busy core
GONE_LIMIT = 15.0
RUN_ID = "20260103-090000-0d1e2f"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 training images at 64 px (18 held out for validation)."""
    return make_dataset(tmp_path_factory.mktemp("data") / "tiny", train=30, test=4, size=64)


def trainer_args(dataset: Path, *extra: str) -> list[str]:
    return [
        "--dataset", str(dataset), "--model", "tinyvgg", "--batch-size", "2",
        "--threads", "1", "--device", "cpu", "--workers", "1", *extra,
    ]  # fmt: skip


def test_two_processes_train_report_each_epoch_once_and_leave_no_process(
    dataset: Path, tmp_path: Path, trainers: list[Trainer]
) -> None:
    out = tmp_path / "runs" / RUN_ID
    args = trainer_args(dataset, "--epochs", "2", "--processes", "2", "--out", str(out))
    trainer = Trainer(args, child_env(tmp_path), tmp_path / "train.log")
    trainers.append(trainer)
    watch = Descendants(trainer.pid)
    events = trainer.rest(RUN_LIMIT)
    assert trainer.process.wait(timeout=30) == 0, trainer.log_text()
    seen = watch.stop()
    assert sorted(watch.ranks) == [0, 1]
    assert wait_until_dead(seen, limit=GONE_LIMIT) == []

    started, *middle, evaluated, completed = events
    assert isinstance(started, Started) and started.processes == 2
    assert started.num_train == 72 and started.num_validation == 18
    assert started.steps_per_epoch == 18  # each process: half of the 72, 2 a step
    assert [e.epoch for e in middle if isinstance(e, EpochEnd)] == [1, 2]
    assert all(isinstance(e, EpochEnd | Progress) for e in middle)
    assert isinstance(evaluated, Evaluated) and isinstance(completed, Completed)
    evaluation = read_evaluation(out)
    assert evaluation is not None and len(evaluation["samples"]) == 12  # the whole test split
    assert (out / WEIGHTS_FILE).is_file()
    assert "[default1]:" in trainer.log_text()  # rank 1 logs, to stderr only


def test_a_killed_rank_fails_the_run_naming_it_and_leaves_no_process(
    dataset: Path, tmp_path: Path, trainers: list[Trainer]
) -> None:
    args = trainer_args(dataset, "--epochs", "50", "--processes", "2")
    trainer = Trainer(args, child_env(tmp_path), tmp_path / "train.log")
    trainers.append(trainer)
    watch = Descendants(trainer.pid)
    trainer.wait_for(lambda e: isinstance(e, Progress), RUN_LIMIT)
    watch.ranks[1].send_signal(signal.SIGKILL)

    rest = trainer.rest(RUN_LIMIT)
    assert trainer.process.wait(timeout=60) == 1
    failed = rest[-1]
    assert isinstance(failed, Failed), rest
    assert failed.error.startswith("training process 1 was killed by SIGKILL")
    assert "its last log line: " in failed.error
    assert not any(isinstance(e, Failed) for e in rest[:-1])  # one final event, the cause
    assert wait_until_dead(watch.stop(), limit=GONE_LIMIT) == []


def test_two_machines_meet_at_a_rendezvous_on_loopback(
    dataset: Path, tmp_path: Path, trainers: list[Trainer]
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    out = tmp_path / "runs" / RUN_ID
    for node in (0, 1):
        where = ["--nnodes", "2", "--node-rank", str(node), "--rdzv-endpoint", endpoint]
        folder = ["--out", str(out)] if node == 0 else []
        args = trainer_args(dataset, "--epochs", "1", *where, *folder)
        trainers.append(Trainer(args, child_env(tmp_path), tmp_path / f"node{node}.log"))
    first, second = trainers
    events = first.rest(RUN_LIMIT)
    assert second.rest(RUN_LIMIT) == []  # the other machine's ranks report nothing
    assert first.process.wait(timeout=30) == 0, first.log_text()
    assert second.process.wait(timeout=30) == 0, second.log_text()
    started = events[0]
    assert isinstance(started, Started) and started.processes == 2
    assert isinstance(events[-1], Completed)
    assert (out / WEIGHTS_FILE).is_file()


# ------------------------------------------------------------------------------ the server

TINY = {"dataset": "tiny", "architecture": "tinyvgg", "batch_size": 8}


def test_a_two_process_run_trains_from_the_page(server) -> None:
    server.wait_idle()
    form = {**TINY, "epochs": "2", "processes": "2", "learning_rate": "0.003", "seed": "0"}
    page = httpx.get(f"{server.url}/", timeout=30).text
    assert 'name="processes"' in page
    response = httpx.post(f"{server.url}/runs", data=form, timeout=30)
    assert response.status_code == 303, response.text
    run = httpx.get(f"{server.url}/api/runs", timeout=10).json()[0]
    done = server.wait_status(run["id"], {"completed", "cancelled", "failed"}, RUN_LIMIT)
    assert done["status"] == "completed", done
    lines = (server.home / "runs" / run["id"] / "events.jsonl").read_text().splitlines()
    events = [decode_event(line) for line in lines]
    assert isinstance(events[0], Started) and events[0].processes == 2
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2]


def two_processes_past_their_first_epoch(server, **options: object) -> tuple[dict, Descendants]:
    """A long two-process run from the server, once its first epoch is done, and its processes."""
    server.wait_idle()
    body = {**TINY, "epochs": 200, "processes": 2, **options}
    run = httpx.post(f"{server.url}/api/runs", json=body, timeout=30).json()
    deadline = time.monotonic() + RUN_LIMIT
    while server.record(run["id"]).epoch < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    watch = Descendants(server.record(run["id"]).pid)
    time.sleep(0.5)
    assert sorted(watch.ranks) == [0, 1]
    return run, watch


def test_cancel_reaches_every_process_of_a_two_process_run(server) -> None:
    run, watch = two_processes_past_their_first_epoch(server)
    cancel = httpx.post(f"{server.url}/api/runs/{run['id']}/cancel", timeout=10)
    assert cancel.status_code == 202
    assert server.wait_status(run["id"], {"cancelled", "failed"}, 30)["status"] == "cancelled"
    assert wait_until_dead([watch.root, *watch.stop()], limit=GONE_LIMIT) == []


def test_stop_and_keep_ends_every_process_after_the_same_epoch(server) -> None:
    run, watch = two_processes_past_their_first_epoch(server, patience=0)
    assert httpx.post(f"{server.url}/api/runs/{run['id']}/stop", timeout=10).status_code == 202
    done = server.wait_status(run["id"], {"completed", "cancelled", "failed"}, RUN_LIMIT)
    assert (done["status"], done["stopped_early"], done["has_model"]) == ("completed", True, True)
    lines = (server.home / "runs" / run["id"] / "events.jsonl").read_text().splitlines()
    epochs = [e.epoch for e in map(decode_event, lines) if isinstance(e, EpochEnd)]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) < 200
    assert wait_until_dead([watch.root, *watch.stop()], limit=GONE_LIMIT) == []


TOO_MANY = (os.cpu_count() or 1) + 1  # within the config's limit of 64 but for a huge machine
REFUSED = [(0, "greater than or equal to 1"), (TOO_MANY, "this machine can run at most")]


@pytest.mark.parametrize(("processes", "message"), REFUSED if TOO_MANY <= 64 else REFUSED[:1])
def test_processes_the_machine_cannot_run_are_422(server, processes: int, message: str) -> None:
    response = httpx.post(
        f"{server.url}/api/runs", json={**TINY, "processes": processes}, timeout=30
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][-1] == "processes" and message in error["msg"], json.dumps(error)
