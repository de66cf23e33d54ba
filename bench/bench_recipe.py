"""The default recipe, timed and scored on real photos and on the demo; ratios from one run.

    python bench/bench_recipe.py --data ../shared/data/food101-dev   # about 45 min, 2 busy cores
    python bench/bench_recipe.py --data DIR --quick                  # 1 seed, 5,000 images for RSS

--data is an ImageFolder dataset of real photos (food101-dev: 5 classes, 75 train + 25 test
photos each); it is only read. Every trainer runs as ``python -m food_vision.train`` with the
same threads (--threads, 1 by default: steady figures on a small shared machine) and one loader
worker; "before" runs the trainer of commit --before (the recipe this one replaces), extracted
from git into a temporary folder.

1. Time to a trained default model / one forward pass over the same images (the floor of a
   frozen backbone, see forward_floor.py), 6 epochs: without augmentation, with the default
   augmented views, and before.
2. Test accuracy with the default settings (median over --seeds seeds) and the time it took,
   after against before: on --data, then on the demo (generated here).
3. Peak resident memory of a trainer whose feature cache holds a generated dataset of
   --rss-images images (32 px, 1 epoch), against the same run on 300 images.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.forward_floor import forward_floor
from bench.harness import exit_on_signal, log
from bench.table import Row, print_table
from bench.trainer_runs import REPO, TrainerRun, checkout, run_trainer
from food_vision.datasets.demo import generate_demo
from food_vision.features import FEATURES_DIR

BEFORE = "8a0c687"
RATIO = ("--epochs", "6")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_signal)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fv-bench-recipe-") as tmp:
        bench = Bench(Path(tmp), args)
        rows += bench.floor_ratios(args.data)
        rows += bench.accuracy(args.data, args.data.name)
        demo = generate_demo(Path(tmp) / "demo")
        rows += bench.accuracy(demo, "demo")
        rows += bench.memory(args.rss_images)
    print_table(rows, "recipe benchmark")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="a dataset of real photos")
    parser.add_argument("--seeds", type=int, default=3, help="runs per recipe for the medians")
    parser.add_argument("--before", default=BEFORE, help="the commit whose trainer is 'before'")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    parser.add_argument("--rss-images", type=int, default=20_000, help="images for section 3")
    parser.add_argument("--quick", action="store_true", help="1 seed, 5,000 images for RSS")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    args.data = args.data.resolve()  # the trainer of --before runs from another folder
    if not (args.data / "train").is_dir():
        parser.error(f"--data {args.data} is not an ImageFolder dataset (no train/ folder)")
    if args.quick:
        args.seeds, args.rss_images = 1, min(args.rss_images, 5_000)
    return args


class Bench:
    """The trainers (this tree's and the one before), their run folders and shared settings."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work = work
        self.args = args
        self.before = checkout(args.before, work / "before")
        self.runs = 0

    def train(self, code: Path, dataset: Path, *extra: str) -> TrainerRun:
        self.runs += 1
        out = self.work / "runs" / f"run-{self.runs}"
        common = ["--dataset", str(dataset), "--workers", "1", "--out", str(out)]
        run = run_trainer(code, self.work / "home", [*common, *extra], threads=self.args.threads)
        which = "before" if code == self.before else "after"
        log(
            f"{which} {dataset.name} {' '.join(extra)}: {run.seconds:.1f} s "
            f"({run.cpu_seconds:.1f} s CPU), test acc {run.test_acc:.3f}"
        )
        return run

    def floor_ratios(self, dataset: Path) -> list[Row]:
        """Section 1: the floor measured before and after the runs, their mean the baseline;
        wall time, and CPU time (which another program's load on the machine barely moves)."""
        first = forward_floor(dataset, threads=self.args.threads, workers=1)
        log(f"forward floor: {first.images} images, {first.seconds:.1f} s")
        runs = {
            "no augmentation (goal <= 1.3)": self.train(REPO, dataset, *RATIO, "--no-augment"),
            "default views (goal <= 2.5)": self.train(REPO, dataset, *RATIO),
            f"before ({self.args.before})": self.train(self.before, dataset, *RATIO),
        }
        second = forward_floor(dataset, threads=self.args.threads, workers=1)
        log(f"forward floor again: {second.seconds:.1f} s ({second.cpu_seconds:.1f} s CPU)")
        note = f"one forward pass over the same {first.images} images"
        name = f"time to a trained default model / floor, {RATIO[1]} epochs"
        wall = (first.seconds + second.seconds) / 2
        cpu = (first.cpu_seconds + second.cpu_seconds) / 2
        return [
            row
            for label, run in runs.items()
            for row in (
                Row.of(f"{name}, {label}", run.seconds, wall, "s", note),
                Row.of(f"{name}, CPU time, {label}", run.cpu_seconds, cpu, "s CPU", note),
            )
        ]

    def accuracy(self, dataset: Path, name: str) -> list[Row]:
        """Section 2: the default recipes, seed by seed, after and before alternating."""
        after: list[TrainerRun] = []
        before: list[TrainerRun] = []
        for seed in range(self.args.seeds):
            after.append(self.train(REPO, dataset, "--seed", str(seed)))
            before.append(self.train(self.before, dataset, "--seed", str(seed)))
        seeds = f"median of {self.args.seeds} seeds"
        figures: list[tuple[str, Callable[[TrainerRun], float], str]] = [
            ("test accuracy, default settings", lambda run: run.test_acc, ""),
            ("time to that model", lambda run: run.seconds, "s"),
            ("CPU time of that run (trainer + loader worker)", lambda run: run.cpu_seconds, "s"),
        ]
        return [
            Row.of(
                f"{name}: {label}, {seeds}: after / before",
                _median(after, figure),
                _median(before, figure),
                unit,
                self.args.before,
            )
            for label, figure, unit in figures
        ]

    def memory(self, images: int) -> list[Row]:
        """Section 3: a dataset of ``images`` generated images against one of 300."""
        big = _generated(self.work / "rss-big", images)
        small = _generated(self.work / "rss-small", 300)
        flags = ("--image-size", "32", "--epochs", "1")
        large = self.train(REPO, big, *flags)
        features = sum(p.stat().st_size for p in (self._last_out() / FEATURES_DIR).iterdir())
        little = self.train(REPO, small, *flags)
        what = f"peak trainer RSS, feature cache, {images} / 300 images"
        return [
            Row.of(what, large.peak_rss_mb, little.peak_rss_mb, "MB", "300 images"),
            Row.of(
                f"{what}, anonymous memory only (no mapped file pages)",
                large.peak_anon_mb,
                little.peak_anon_mb,
                "MB",
                "300 images",
            ),
            Row(
                f"cached features on disk, {images} images", f"{features / 2**20:.0f} MB", "-", "-"
            ),
        ]

    def _last_out(self) -> Path:
        return self.work / "runs" / f"run-{self.runs}"


def _generated(root: Path, images: int) -> Path:
    """A demo-style dataset of about ``images`` 32-px images, three classes, 90 % train."""
    per_class = max(2, images // 3)
    test = max(1, per_class // 10)
    log(f"generating {3 * per_class} images into {root.name}")
    return generate_demo(
        root, train_per_class=per_class - test, test_per_class=test, size=32, samples_per_class=0
    )


def _median(runs: list[TrainerRun], figure: Callable[[TrainerRun], float]) -> float:
    return statistics.median(figure(run) for run in runs)


if __name__ == "__main__":
    sys.exit(main())
