"""The engine's reporting overhead: one tinyvgg epoch on identical in-memory batches, as a
plain PyTorch loop (the baseline), through ``engine.train`` alone, and reporting as the
trainer does (throttled, or every step's Progress event)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from bench.timing import timed
from bench.training_throughput import demo_loaders
from food_vision.bundle import ModelMeta, save_bundle
from food_vision.engine import EpochResult, StepReport, train
from food_vision.models import get_architecture
from food_vision.reporting import Reporter, epoch_event, progress_event

CPU = torch.device("cpu")
Batches = list[tuple[Tensor, Tensor]]


def in_memory_batches(root: Path, split: str, batch_size: int, seed: int) -> Batches:
    """Decode and transform once, so every variant trains on identical tensors."""
    _, loaders = demo_loaders(root, "tinyvgg", batch_size=batch_size, seed=seed, workers=0)
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
            validation_batches=test_batches,
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
