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
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from food_vision.bundle import ModelMeta, save_bundle  # noqa: E402
from food_vision.datasets.demo import generate_demo  # noqa: E402
from food_vision.datasets.layout import validate_image_folder  # noqa: E402
from food_vision.datasets.loaders import build_loaders, default_workers  # noqa: E402
from food_vision.engine import EpochResult, StepReport, train  # noqa: E402
from food_vision.models import get_architecture  # noqa: E402
from food_vision.session import epoch_event, progress_event  # noqa: E402
from food_vision.train import Reporter  # noqa: E402

CPU = torch.device("cpu")
TRAIN_EPOCHS = {"tinyvgg": 2, "mobilenet_v3_small": 1}
QUICK_MAX_STEPS = {"tinyvgg": None, "mobilenet_v3_small": 4}  # --quick: part of an epoch
Batches = list[tuple[Tensor, Tensor]]


def row(metric: str, ours: str, baseline: str, ratio: str) -> dict[str, str]:
    return {"metric": metric, "ours": ours, "baseline": baseline, "ratio": ratio}


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# ------------------------------------------------------------------------------ 1. demo


def bench_demo(work: Path) -> tuple[Path, float]:
    seconds, root = timed(lambda: generate_demo(work / "demo"))
    assert isinstance(root, Path)
    return root, seconds


# ------------------------------------------------------------------------------ 2. throughput


def bench_throughput(
    root: Path,
    architecture: str,
    epochs: int,
    batch_size: int,
    seed: int,
    max_steps: int | None = None,
) -> list[EpochResult]:
    arch = get_architecture(architecture)
    summary = validate_image_folder(root)
    loaders = build_loaders(
        summary,
        image_size=arch.input_size,
        mean=arch.mean,
        std=arch.std,
        batch_size=batch_size,
        seed=seed,
        workers=default_workers(),
        device=CPU,
    )
    torch.manual_seed(seed)
    model = arch.build(len(summary.classes), pretrained=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    outcome = train(
        model,
        train_batches=loaders.train,
        test_batches=loaders.test,
        steps_per_epoch=loaders.steps_per_epoch,
        epochs=epochs,
        optimizer=optimizer,
        device=CPU,
        stop=threading.Event(),
        max_steps=max_steps,
    )
    return outcome.history


# ------------------------------------------------------------------------------ 3. overhead


def in_memory_batches(root: Path, split: str, batch_size: int, seed: int) -> Batches:
    """Decode and transform once, so every variant trains on identical tensors."""
    arch = get_architecture("tinyvgg")
    summary = validate_image_folder(root)
    loaders = build_loaders(
        summary,
        image_size=arch.input_size,
        mean=arch.mean,
        std=arch.std,
        batch_size=batch_size,
        seed=seed,
        workers=0,
    )
    loader = loaders.train if split == "train" else loaders.test
    return [(images.clone(), labels.clone()) for images, labels in loader]


def fresh_model(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = get_architecture("tinyvgg").build(3, pretrained=False)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def plain_epoch(seed: int, train_batches: Batches, test_batches: Batches) -> None:
    model, optimizer = fresh_model(seed)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for images, labels in train_batches:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(images), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for images, labels in test_batches:
            loss_fn(model(images), labels)


def engine_epoch(
    seed: int,
    train_batches: Batches,
    test_batches: Batches,
    *,
    reporting: bool,
    throttle: bool = True,
    out: Path | None = None,
) -> float:
    """One epoch; returns the seconds spent inside the reporting callbacks."""
    model, optimizer = fresh_model(seed)
    on_step = on_epoch = None
    spent = [0.0]
    if reporting:
        assert out is not None
        channel = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 closed below
        reporter = Reporter("bench-run", channel, None)
        emit_progress = reporter.progress if throttle else reporter.emit
        meta = ModelMeta("tinyvgg", ["pizza", "steak", "sushi"], 64, [0.5] * 3, [0.5] * 3)

        def on_step(report: StepReport) -> None:
            started = time.perf_counter()
            emit_progress(progress_event("bench-run", report))
            spent[0] += time.perf_counter() - started

        def on_epoch(result: EpochResult) -> None:
            started = time.perf_counter()
            save_bundle(model, meta, out)
            reporter.emit(epoch_event("bench-run", result))
            spent[0] += time.perf_counter() - started

    try:
        train(
            model,
            train_batches=train_batches,
            test_batches=test_batches,
            steps_per_epoch=len(train_batches),
            epochs=1,
            optimizer=optimizer,
            device=CPU,
            stop=threading.Event(),
            on_step=on_step,
            on_epoch=on_epoch,
        )
    finally:
        if reporting:
            channel.close()
    return spent[0]


def bench_overhead(
    root: Path, work: Path, rounds: int, batch_size: int, seed: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock, CPU and in-callback seconds per variant and round.

    CPU time is this process's (all threads): what the work costs even when other programs
    compete for the cores. In-callback time is measured inside the reporting callbacks
    themselves, so it is not drowned by the noise of whole-epoch timings.
    """
    train_batches = in_memory_batches(root, "train", batch_size, seed)
    test_batches = in_memory_batches(root, "test", batch_size, seed)
    out = work / "bundle"
    variants: dict[str, Callable[[], object]] = {
        "plain loop": lambda: plain_epoch(seed, train_batches, test_batches),
        "engine, no callbacks": lambda: engine_epoch(
            seed, train_batches, test_batches, reporting=False
        ),
        "engine + reporting": lambda: engine_epoch(
            seed, train_batches, test_batches, reporting=True, out=out
        ),
        "engine + reporting, every step": lambda: engine_epoch(
            seed, train_batches, test_batches, reporting=True, throttle=False, out=out
        ),
    }
    for run in variants.values():  # warm-up: allocator, kernels, first file writes
        run()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    inside: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    shuffler = random.Random(seed)
    for _ in range(rounds):
        shuffler.shuffle(order)  # no variant always runs first or last in a round
        for name in order:
            cpu_started = time.process_time()
            seconds, in_callbacks = timed(variants[name])
            cpu[name].append(time.process_time() - cpu_started)
            wall[name].append(seconds)
            inside[name].append(in_callbacks if isinstance(in_callbacks, float) else 0.0)
    return wall, cpu, inside


# ------------------------------------------------------------------------------ report


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
    signal.signal(signal.SIGTERM, _exit_on_signal)  # clean up the temp folder when stopped
    torch.set_num_threads(args.threads)
    rows: list[dict[str, str]] = []
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
        rows.append(row("demo generation, fresh dir", f"{demo_seconds:.2f} s", "-", "-"))

        print("\n2. throughput: engine.train with the real loaders (no pretrained weights)")
        print(f"   {'model':<20} {'px':>4} {'batch':>5} {'epoch':>5} {'s/epoch':>8} {'img/s':>7}")
        rates: dict[str, float] = {}
        for architecture, batch_size in (("tinyvgg", 32), ("mobilenet_v3_small", 32)):
            max_steps = QUICK_MAX_STEPS[architecture] if args.quick else None
            history = bench_throughput(
                root, architecture, epochs[architecture], batch_size, args.seed, max_steps
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
                row(
                    f"{architecture} epoch (last of {len(history)}), real loaders{part}",
                    f"{history[-1].seconds:.2f} s, {history[-1].images_per_sec:.1f} img/s",
                    "-",
                    "-",
                )
            )
        speed = rates["tinyvgg"] / rates["mobilenet_v3_small"]
        rows.append(
            row(
                "training img/s tinyvgg / mobilenet_v3_small",
                f"{rates['tinyvgg']:.1f} img/s",
                f"{rates['mobilenet_v3_small']:.1f} img/s",
                f"{speed:.2f}x",
            )
        )
        print(f"   tinyvgg / mobilenet_v3_small training speed: {speed:.1f}x")
        print("   (s/epoch includes the test pass; img/s is the training pass alone)")

        wall, cpu, inside = bench_overhead(root, work, rounds, 32, args.seed)
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
                        row(
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
                row(
                    f"time in reporting callbacks / epoch: {name}",
                    f"{spent * 1000:.1f} ms",
                    f"{statistics.median(wall[name]):.3f} s (epoch)",
                    f"{share:.4f}x",
                )
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
