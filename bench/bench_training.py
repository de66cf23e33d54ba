"""Training benchmarks on the demo dataset; prints a table and ratios measured in one run.

    python bench/bench_training.py            # about 2-3 minutes on 2 cores
    python bench/bench_training.py --quick    # about a minute
    python bench/bench_training.py --json rows.json   # also write the ratio rows as JSON

1. Demo generation: the default demo (3 classes x 130 images) into a fresh folder.
2. Throughput: epochs through ``food_vision.engine.train`` with the real data loaders, for
   tinyvgg (64 px) and mobilenet_v3_small (224 px, no pretrained weights).
3. Reporting overhead: the same model init (same seed), the same in-memory batches, timed as
   - a plain PyTorch loop (train + eval, no metrics, no callbacks): the baseline;
   - ``engine.train`` without callbacks (sample-weighted metrics, stop checks);
   - ``engine.train`` reporting as the trainer does: Progress events built and throttled,
     encoded to a devnull channel, EpochEnd emitted, the bundle saved every epoch;
   - the same with every step's Progress event written (no throttle): the worst case.
   Variants are interleaved round by round and the median epoch time is kept, so drift on a
   busy machine hits them alike. Ratios are against the plain loop.
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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import exit_on_signal
from bench.reporting_overhead import bench_overhead
from bench.table import Row
from bench.training_throughput import bench_demo, bench_throughput
from food_vision.datasets.layout import DatasetSummary, validate_image_folder
from food_vision.datasets.loaders import default_workers
from food_vision.models import get_architecture

TRAIN_EPOCHS = {"tinyvgg": 2, "mobilenet_v3_small": 1}
QUICK_MAX_STEPS = {"tinyvgg": None, "mobilenet_v3_small": 4}  # --quick: part of an epoch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1 keeps figures steady on a small shared machine, and is "
        "what the app's trainer is given there)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the figures as rows {metric, ours, baseline, ratio} (for run_all.py)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_signal)  # clean up the temp folder when stopped
    torch.set_num_threads(args.threads)
    epochs = {"tinyvgg": 1, "mobilenet_v3_small": 1} if args.quick else TRAIN_EPOCHS
    rounds = 3 if args.quick else 5

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores, loader workers {default_workers()}"
        + (", quick" if args.quick else "")
    )
    with tempfile.TemporaryDirectory(prefix="fv-bench-") as tmp:
        work = Path(tmp)
        root, demo_seconds = bench_demo(work)
        summary = validate_image_folder(root)
        print(f"\n1. demo generation (fresh dir): {demo_seconds:.2f} s")
        print(f"   {summary.num_train} train + {summary.num_test} test images, 128 px JPEG")
        rows = [Row("demo generation, fresh dir", f"{demo_seconds:.2f} s", "-", "-")]
        rows += report_throughput(root, epochs, args.seed, quick=args.quick)
        rows += report_overhead(root, work, summary, rounds, args.seed)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    return 0


def report_throughput(root: Path, epochs: dict[str, int], seed: int, *, quick: bool) -> list[Row]:
    """Section 2: epochs of each model with the real loaders, and their speed ratio."""
    print("\n2. throughput: engine.train with the real loaders (no pretrained weights)")
    print(f"   {'model':<20} {'px':>4} {'batch':>5} {'epoch':>5} {'s/epoch':>8} {'img/s':>7}")
    rows = []
    rates: dict[str, float] = {}
    for architecture, batch_size in (("tinyvgg", 32), ("mobilenet_v3_small", 32)):
        max_steps = QUICK_MAX_STEPS[architecture] if quick else None
        history = bench_throughput(
            root, architecture, epochs[architecture], batch_size, seed, max_steps
        )
        part = f" (first {max_steps} steps of each pass)" if max_steps else ""
        size = get_architecture(architecture).input_size
        for result in history:
            print(
                f"   {architecture:<20} {size:>4} {batch_size:>5} {result.epoch:>5} "
                f"{result.seconds:>8.2f} {result.images_per_sec:>7.1f}{part}"
            )
        rates[architecture] = history[-1].images_per_sec
        rows.append(
            Row(
                f"{architecture} epoch (last of {len(history)}), real loaders{part}",
                f"{history[-1].seconds:.2f} s, {history[-1].images_per_sec:.1f} img/s",
                "-",
                "-",
            )
        )
    speed = rates["tinyvgg"] / rates["mobilenet_v3_small"]
    rows.append(
        Row(
            "training img/s tinyvgg / mobilenet_v3_small",
            f"{rates['tinyvgg']:.1f} img/s",
            f"{rates['mobilenet_v3_small']:.1f} img/s",
            f"{speed:.2f}x",
        )
    )
    print(f"   tinyvgg / mobilenet_v3_small training speed: {speed:.1f}x")
    print("   (s/epoch includes the test pass; img/s is the training pass alone)")
    return rows


def report_overhead(
    root: Path, work: Path, summary: DatasetSummary, rounds: int, seed: int
) -> list[Row]:
    """Section 3: each variant's epoch against the plain loop, and the time in callbacks."""
    wall, cpu, inside = bench_overhead(root, work, rounds, 32, seed)
    print(
        f"\n3. reporting overhead: tinyvgg, {summary.num_train} + {summary.num_test} "
        f"in-memory images, batch 32, {rounds} shuffled rounds of one epoch per variant"
    )
    print(
        f"   {'variant':<32} {'wall med s':>10} {'ratio':>6} {'wall min s':>10} {'ratio':>6}"
        f" {'cpu med s':>10} {'ratio':>6}"
    )
    base = {
        "wall median": statistics.median(wall["plain loop"]),
        "wall min": min(wall["plain loop"]),
        "cpu median": statistics.median(cpu["plain loop"]),
    }
    rows = []
    for name in wall:
        figures = (
            statistics.median(wall[name]),
            min(wall[name]),
            statistics.median(cpu[name]),
        )
        cells = " ".join(
            f"{value:>10.3f} {value / reference:>6.3f}"
            for value, reference in zip(figures, base.values(), strict=True)
        )
        print(f"   {name:<32} {cells}")
        if name != "plain loop":
            for label, value, reference in (
                ("wall median", figures[0], base["wall median"]),
                ("CPU median", figures[2], base["cpu median"]),
            ):
                rows.append(
                    Row(
                        f"epoch {label}: {name} / plain loop",
                        f"{value:.3f} s",
                        f"{reference:.3f} s (plain loop)",
                        f"{value / reference:.3f}x",
                    )
                )
    print("   ratio = variant / plain loop: same run, same data, same init (seed)")
    for name in ("engine + reporting", "engine + reporting, every step"):
        spent = statistics.median(inside[name])
        share = spent / statistics.median(wall[name])
        print(
            f"   time inside the callbacks, {name}: {spent * 1000:.1f} ms per epoch "
            f"= {share:.2%} of the epoch"
        )
        rows.append(
            Row(
                f"time in reporting callbacks / epoch: {name}",
                f"{spent * 1000:.1f} ms",
                f"{statistics.median(wall[name]):.3f} s (epoch)",
                f"{share:.4f}x",
            )
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
