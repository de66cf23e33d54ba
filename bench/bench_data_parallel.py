"""Data-parallel training on the CPU: images/s with 2 processes / 1 process, same total threads.

    python bench/bench_data_parallel.py                 # about 3 minutes on 2 cores
    python bench/bench_data_parallel.py --quick         # about a minute and a half
    python bench/bench_data_parallel.py --data ../shared/data/food101-dev   # real photos

Each figure comes from whole trainer runs (``python -m food_vision.train --events jsonl``),
the variants interleaved round by round so that drift on a busy machine hits them alike; the
median of the rounds is kept. The 2 processes share ``--threads`` (half each), with no loader
workers; they are compared with 1 process given all the threads (the cost or gain of
splitting the same CPU between torchrun's processes: gloo all-reduce of the gradients every
step, the stop agreement, summed figures) and with 1 process given one process's share
(the scaling: 2 is perfect):

1. ``tinyvgg`` training, 64 px: training images per second of epoch time (validation of each
   epoch included), the median of the epochs after the first.
2. ``efficientnet_lite0``'s frozen backbone: images/s of the feature pass (each process passes
   its share of the images; the leader joins the parts), from the run's ``features`` progress.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and food_vision.*

from bench.harness import exit_on_signal, log
from bench.table import Row, print_table
from bench.trainer_runs import REPO, run_trainer
from food_vision.datasets.demo import generate_demo
from food_vision.events import EpochEnd, Event, Progress, Started

WORKLOADS = {
    "tinyvgg training, 64 px": ["--model", "tinyvgg", "--image-size", "64", "--epochs", "3"],
    "efficientnet_lite0 feature pass": [
        "--model", "efficientnet_lite0", "--epochs", "1", "--feature-views", "1",
    ],
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer images")
    parser.add_argument("--data", type=Path, help="an ImageFolder (train/, test/) to train on")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch threads in all"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here (for run_all.py)")
    args = parser.parse_args(argv)
    if args.data is not None and not (args.data / "train").is_dir():
        parser.error(f"--data {args.data}: no train/ folder")
    signal.signal(signal.SIGTERM, exit_on_signal)
    rounds = 1 if args.quick else 2
    with tempfile.TemporaryDirectory(prefix="fv-bench-ddp-") as tmp:
        home = Path(tmp)
        data = args.data or generate_demo(
            home / "demo", train_per_class=40 if args.quick else 80, test_per_class=8, size=64
        )
        rows = [
            row
            for name, extra in WORKLOADS.items()
            for row in ratio_rows(name, extra, data, home, args.threads, rounds)
        ]
    print_table(rows, f"data-parallel, {args.threads} threads in all, {rounds} round(s)")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(row) for row in rows]), encoding="utf-8")
    return 0


def ratio_rows(
    name: str, extra: list[str], data: Path, home: Path, threads: int, rounds: int
) -> list[Row]:
    """2 processes against 1 with the same threads, and against 1 with one process's share
    of them (2 would be perfect scaling)."""
    share = max(1, threads // 2)
    variants = {"2": (2, threads), "1": (1, threads), "1 share": (1, share)}
    rates: dict[str, list[float]] = {key: [] for key in variants}
    for round_number in range(rounds):
        for key, (processes, given) in variants.items():
            args = [*extra, "--processes", str(processes)]
            run_args = ["--dataset", str(data), "--workers", "0", *args]
            events = run_trainer(REPO, home, run_args, threads=given).events
            rates[key].append(images_per_second(events, features="feature" in name))
            log(f"{name}, round {round_number + 1}, {processes} process(es), {given} thread(s): "
                f"{rates[key][-1]:.1f} images/s")  # fmt: skip
    two, one, alone = (statistics.median(rates[key]) for key in variants)
    return [
        Row.of(f"{name}: images/s 2 processes / 1", two, one, "img/s", f"1 process, {threads}"),
        Row.of(f"{name}: images/s 2 processes / 1 with a share", two, alone, "img/s",
               f"1 process, {share}"),
    ]  # fmt: skip


def images_per_second(events: list[Event], *, features: bool) -> float:
    """The feature pass's last reported rate, or the median training rate after epoch 1."""
    if features:
        passes = [e for e in events if isinstance(e, Progress) and e.phase == "features"]
        return passes[-1].images_per_sec
    (started,) = [e for e in events if isinstance(e, Started)]
    epochs = [e.seconds for e in events if isinstance(e, EpochEnd) and e.epoch > 1]
    return started.num_train / statistics.median(epochs)


if __name__ == "__main__":
    raise SystemExit(main())
