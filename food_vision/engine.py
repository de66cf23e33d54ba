"""Training and evaluation loops. They report through callbacks and never print.

Metrics are weighted by sample count (summed, then divided by the number of samples), so a
short last batch counts for what it holds. A stop flag is checked at every batch boundary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from food_vision.models.freeze import set_train_mode

StepCallback = Callable[["StepReport"], None]
EpochCallback = Callable[["EpochResult"], None]


@dataclass(frozen=True)
class StepReport:
    epoch: int
    step: int
    steps: int
    loss: float
    images_per_sec: float


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float
    images_per_sec: float

    def metrics(self) -> dict[str, float]:
        """The four figures a person compares runs by."""
        return {
            "train_loss": self.train_loss,
            "train_acc": self.train_acc,
            "test_loss": self.test_loss,
            "test_acc": self.test_acc,
        }


@dataclass
class TrainOutcome:
    history: list[EpochResult] = field(default_factory=list)
    stopped: bool = False
    stopped_epoch: int = 0
    stopped_step: int = 0


@dataclass(frozen=True)
class Split:
    loss: float
    accuracy: float
    samples: int
    stopped: bool = False
    steps_done: int = 0


def run_epoch(
    model: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    loss_fn: nn.Module,
    device: torch.device,
    stop: threading.Event,
    optimizer: torch.optim.Optimizer | None = None,
    max_steps: int | None = None,
    on_step: Callable[[int, float, int, float], None] | None = None,
) -> Split:
    """One pass over ``batches``; trains when an optimizer is given, else evaluates.

    ``on_step(step, batch_loss, images_so_far, seconds_so_far)`` follows every training step.
    """
    training = optimizer is not None
    if training:
        set_train_mode(model)
    else:
        model.eval()
    total_loss, correct, samples, step = 0.0, 0, 0, 0
    started = time.perf_counter()
    with torch.set_grad_enabled(training):
        for images, labels in batches:
            if stop.is_set() or (max_steps is not None and step >= max_steps):
                break
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss = loss_fn(logits, labels)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            batch = labels.shape[0]
            total_loss += loss.item() * batch
            correct += int((logits.argmax(dim=1) == labels).sum().item())
            samples += batch
            step += 1
            if on_step is not None:
                on_step(step, loss.item(), samples, time.perf_counter() - started)
    stopped = stop.is_set()
    if samples == 0:
        return Split(float("nan"), float("nan"), 0, stopped, step)
    return Split(total_loss / samples, correct / samples, samples, stopped, step)


def train(
    model: nn.Module,
    *,
    train_batches: Iterable[tuple[Tensor, Tensor]],
    test_batches: Iterable[tuple[Tensor, Tensor]],
    steps_per_epoch: int,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    stop: threading.Event,
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
    max_steps: int | None = None,
) -> TrainOutcome:
    """Train for ``epochs``, evaluating after each; returns the history.

    When ``stop`` is set the loop ends at the next batch boundary and the unfinished epoch is
    not added to the history (its weights are not a finished epoch's).
    """
    loss_fn = nn.CrossEntropyLoss()
    outcome = TrainOutcome()
    model.to(device)
    for epoch in range(1, epochs + 1):
        epoch_started = time.perf_counter()

        def report(step: int, loss: float, images: int, seconds: float, epoch: int = epoch) -> None:
            if on_step is not None:
                rate = images / seconds if seconds > 0 else 0.0
                on_step(StepReport(epoch, step, steps_per_epoch, loss, rate))

        fit = run_epoch(
            model,
            train_batches,
            loss_fn=loss_fn,
            device=device,
            stop=stop,
            optimizer=optimizer,
            max_steps=max_steps,
            on_step=report,
        )
        train_seconds = time.perf_counter() - epoch_started
        if fit.stopped:
            return _stopped(outcome, epoch, fit.steps_done)
        check = run_epoch(
            model, test_batches, loss_fn=loss_fn, device=device, stop=stop, max_steps=max_steps
        )
        if check.stopped:
            return _stopped(outcome, epoch, fit.steps_done)
        result = EpochResult(
            epoch=epoch,
            epochs=epochs,
            train_loss=fit.loss,
            train_acc=fit.accuracy,
            test_loss=check.loss,
            test_acc=check.accuracy,
            seconds=time.perf_counter() - epoch_started,
            images_per_sec=fit.samples / train_seconds if train_seconds > 0 else 0.0,
        )
        outcome.history.append(result)
        if on_epoch is not None:
            on_epoch(result)
    return outcome


def _stopped(outcome: TrainOutcome, epoch: int, step: int) -> TrainOutcome:
    outcome.stopped, outcome.stopped_epoch, outcome.stopped_step = True, epoch, step
    return outcome
