"""A trainer that cannot write its weights (a full disk, simulated with a file-size limit)
fails with the reason, and leaves earlier runs as they were."""

from __future__ import annotations

import resource
import subprocess
import sys

from food_vision.bundle import WEIGHTS_FILE, load_bundle
from food_vision.events import decode
from tests.utils.factories import make_dataset, make_model_run
from tests.utils.processes import child_env

LIMIT_BYTES = 32 * 1024  # tinyvgg weights are ~280 KB: the first epoch's save fails


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


def test_full_disk_fails_the_run_with_its_reason_and_keeps_earlier_runs(tmp_path):
    runs = tmp_path / "runs"
    earlier = make_model_run(runs)
    before = (runs / earlier / WEIGHTS_FILE).read_bytes()
    dataset = make_dataset(tmp_path / "data" / "tiny", train=4, test=2, size=32)
    out = runs / "20261126-000000-d15cf0"
    result = subprocess.run(
        [sys.executable, "-m", "food_vision.train", "--events", "jsonl", "--dataset",
         str(dataset), "--model", "tinyvgg", "--epochs", "1", "--batch-size", "4",
         "--workers", "0", "--threads", "1", "--out", str(out)],
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )  # fmt: skip
    events = [decode(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1, result.stderr[-2000:]
    assert events[-1].type == "failed"
    assert events[-1].error.startswith("disk full while writing")
    assert not (out / WEIGHTS_FILE).exists()
    assert not list(out.glob(".*.tmp")), "the half-written file must be removed"
    assert (runs / earlier / WEIGHTS_FILE).read_bytes() == before
    load_bundle(runs / earlier)
