"""Data-parallel training's pieces: what two processes learn in a step equals what one learns
with their batches together, their figures are summed, and a failed rank is named."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import multiprocessing

from food_vision.distributed import ALONE, Group, is_peer_lost
from food_vision.features import _share
from food_vision.launch import EXIT_PEER_LOST, describe_failure
from tests.utils.data_parallel import both, small_net
from tests.utils.factories import make_dataset
from tests.utils.server import free_port


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One step and one feature pass, by one process and by two (spawned, gloo)."""
    work = tmp_path_factory.mktemp("data-parallel")
    data = make_dataset(work / "data", train=3, test=2, size=32)  # 9 and 6 images
    alone, pair = work / "alone", work / "pair"
    alone.mkdir()
    pair.mkdir()
    both(0, 1, 0, data, alone)
    multiprocessing.start_processes(
        both, args=(2, free_port(), data, pair), nprocs=2, start_method="spawn"
    )
    return alone, pair


def test_two_processes_with_batch_b_learn_what_one_learns_with_batch_2b(
    results: tuple[Path, Path],
) -> None:
    alone, pair = results
    one, two = torch.load(alone / "weights.pt"), torch.load(pair / "weights.pt")
    for name, weights in one.items():
        torch.testing.assert_close(two[name], weights, rtol=1e-5, atol=1e-6)
    assert not torch.equal(one["0.weight"], small_net().state_dict()["0.weight"]), "no step"
    figures = [json.loads((folder / "figures.json").read_text()) for folder in (alone, pair)]
    assert figures[1] == pytest.approx(figures[0], rel=1e-6)  # summed over both processes


def test_two_processes_compute_the_feature_cache_one_process_computes(
    results: tuple[Path, Path],
) -> None:
    alone, pair = (folder / "features" for folder in results)
    for name in ("train", "test", "train-labels", "test-labels"):  # shares of 4 and 5, 3 and 3
        np.testing.assert_allclose(np.load(pair / f"{name}.npy"), np.load(alone / f"{name}.npy"))
    assert sorted(p.name for p in pair.iterdir()) == sorted(p.name for p in alone.iterdir())
    assert [p.name for p in pair.parent.iterdir() if p.name.startswith(".")] == []


def test_alone_every_collective_is_the_value_itself() -> None:
    assert ALONE.agree(True) and not ALONE.agree(False)
    assert ALONE.sum([1.5, 2]) == [1.5, 2.0]
    assert ALONE.from_leader("x") == "x"
    assert ALONE.train_sampler([1, 2, 3], seed=0) is None  # type: ignore[arg-type]
    assert ALONE.eval_sampler([1, 2, 3]) is None


def test_shares_cover_every_image_once_in_order() -> None:
    samples = [(Path(f"{i}.jpg"), 0) for i in range(7)]
    shares = [_share(samples, Group(rank=rank, size=3)) for rank in range(3)]
    assert [s for share in shares for s in share] == samples
    assert [len(share) for share in shares] == [2, 2, 3]
    evaluation = [list(Group(rank=rank, size=3).eval_sampler(samples) or []) for rank in range(3)]
    assert sorted(i for share in evaluation for i in share) == list(range(7))


def test_a_killed_rank_is_named_with_its_last_log_line(tmp_path: Path) -> None:
    logs = tmp_path / "run-id_x" / "attempt_0" / "1"
    logs.mkdir(parents=True)
    (logs / "stderr.log").write_text("INFO dataset ok\nINFO epoch 1\n\n", encoding="utf-8")
    # The leader was stopped by torchrun after rank 1 vanished, and rank 2 lost its peer.
    ends = {0: (0, -signal.SIGTERM), 1: (1, -signal.SIGKILL), 2: (2, EXIT_PEER_LOST)}
    assert describe_failure(ends, tmp_path) == (
        "training process 1 was killed by SIGKILL; its last log line: INFO epoch 1"
    )
    assert describe_failure({3: (1, 2)}, tmp_path / "none") == "training process 3 exited with 2"


def test_collectives_cut_off_by_a_lost_peer_are_told_apart() -> None:
    reset = "[gloo/transport/tcp/pair.cc:545] Read error: Connection reset by peer"
    assert is_peer_lost(RuntimeError(reset))
    assert not is_peer_lost(RuntimeError("CUDA out of memory"))
    assert not is_peer_lost(ValueError("Connection reset by peer"))
