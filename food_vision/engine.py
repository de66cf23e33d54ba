"""Training and evaluation loops. They report through callbacks and never print.

Metrics are weighted by sample count (summed, then divided by the number of samples), so a
short last batch counts for what it holds. A stop flag is checked at every batch boundary.
Each epoch is judged on the validation split when there is one: the best epoch so far is
announced (the caller keeps its weights) and training ends early once it has not improved for
``patience`` epochs. The test split is never seen here; the caller evaluates it once, at the end.
Across data-parallel processes each trains on its share of every epoch; they agree on stopping
at every step and sum their figures before anything is judged or reported.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor, nn
from torch.utils.data import DistributedSampler

from food_vision.distributed import ALONE, Group
from food_vision.models.freeze import set_train_mode

StepCallback = Callable[["StepReport"], None]
EpochCallback = Callable[["EpochResult"], None]
Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class StepReport:
    epoch: int
    step: int
    steps: int
    loss: float
    images_per_sec: float
    phase: str = "train"


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    seconds: float
    images_per_sec: float
    validation_loss: float = math.nan
    validation_acc: float = math.nan

    @property
    def validated(self) -> bool:
        return not math.isnan(self.validation_acc)

    def metrics(self) -> dict[str, float]:
        """The figures a person compares epochs by (validation ones when there was a split)."""
        figures = {"train_loss": self.train_loss, "train_acc": self.train_acc}
        if self.validated:
            figures |= {
                "validation_loss": self.validation_loss,
                "validation_acc": self.validation_acc,
            }
        return figures

    def beats(self, best: EpochResult | None) -> bool:
        """Higher validation accuracy, lower validation loss on a tie; without a validation
        split the latest epoch is the one kept."""
        if best is None or not self.validated:
            return True
        return (self.validation_acc, -self.validation_loss) > (
            best.validation_acc,
            -best.validation_loss,
        )


@dataclass
class TrainOutcome:
    history: list[EpochResult] = field(default_factory=list)
    best: EpochResult | None = None
    stopped: bool = False
    stopped_epoch: int = 0
    stopped_step: int = 0
    early_stopped: bool = False
    finished_early: bool = False  # a person asked to stop after the epoch (stop and keep)


@dataclass(frozen=True)
class Split:
    loss: float
    accuracy: float
    samples: int
    stopped: bool = False
    steps_done: int = 0


def run_epoch(
    model: nn.Module,
    batches: Batches,
    *,
    loss_fn: nn.Module,
    device: torch.device,
    stop: threading.Event,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    max_steps: int | None = None,
    on_step: Callable[[int, float, int, float], None] | None = None,
    group: Group = ALONE,
) -> Split:
    """One pass over ``batches``; trains when an optimizer is given, else evaluates.

    ``on_step(step, batch_loss, images_so_far, seconds_so_far)`` follows every batch; the
    ``scheduler``, if any, moves the learning rate on after every training step. The figures
    are summed over ``group``; while training, its processes stop at the same step.
    """
    training = optimizer is not None
    in_lockstep = training and group.parallel  # a stop must reach every process's step
    if training:
        set_train_mode(model)
    else:
        model.eval()
    total_loss, correct, samples, step = 0.0, 0, 0, 0
    started = time.perf_counter()
    with torch.set_grad_enabled(training):
        for images, labels in batches:
            halt = group.agree(stop.is_set()) if in_lockstep else stop.is_set()
            if halt or (max_steps is not None and step >= max_steps):
                break
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss = loss_fn(logits, labels)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            batch = labels.shape[0]
            total_loss += loss.item() * batch
            correct += int((logits.argmax(dim=1) == labels).sum().item())
            samples += batch
            step += 1
            if on_step is not None:
                on_step(step, loss.item(), samples, time.perf_counter() - started)
    loss_sum, hits, seen, stops = group.sum([total_loss, correct, samples, stop.is_set()])
    if seen == 0:
        return Split(float("nan"), float("nan"), 0, stops > 0, step)
    return Split(loss_sum / seen, hits / seen, int(seen), stops > 0, step)


def evaluate(
    model: nn.Module,
    batches: Batches,
    *,
    device: torch.device,
    stop: threading.Event,
    epoch: int = 0,
    on_step: StepCallback | None = None,
    max_steps: int | None = None,
    group: Group = ALONE,
) -> Split:
    """Loss (plain cross-entropy, whatever the training loss) and accuracy over ``batches``,
    reported as ``eval`` steps."""
    steps = len(batches) if isinstance(batches, Sized) else 0
    if max_steps is not None:
        steps = min(steps, max_steps)
    report = _reporter(on_step, epoch, steps, "eval", group.size)
    return run_epoch(
        model,
        batches,
        loss_fn=nn.CrossEntropyLoss(),
        device=device,
        stop=stop,
        max_steps=max_steps,
        on_step=report,
        group=group,
    )


def train(
    model: nn.Module,
    *,
    train_batches: Batches,
    validation_batches: Batches | None,
    steps_per_epoch: int,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    stop: threading.Event,
    done: int = 0,
    loss_fn: nn.Module | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    patience: int = 0,
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
    on_best: EpochCallback | None = None,
    max_steps: int | None = None,
    group: Group = ALONE,
    finish: threading.Event | None = None,
) -> TrainOutcome:
    """Train epochs ``done + 1`` to ``done + epochs`` (``done``: those of a continued run's
    parent), validating after each; returns the history and best epoch.

    When ``stop`` is set the loop ends at the next batch boundary and the unfinished epoch is
    not added to the history (its weights are not a finished epoch's). ``on_best`` comes
    before ``on_epoch`` for an epoch that beats every earlier one; ``patience`` > 0 ends
    training after that many validated epochs without a better one. When ``finish`` is set,
    training ends after the epoch under way, which counts in full (stop and keep). In a
    ``group`` of several processes the training steps go through DistributedDataParallel (the
    model itself is evaluated: each process its share of the validation split), and a finish
    asked on any process ends the run on all of them after the same epoch.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    outcome = TrainOutcome()
    learner, last = group.wrap(model.to(device)), done + epochs
    for epoch in range(done + 1, last + 1):
        epoch_started = time.perf_counter()
        sampler = getattr(train_batches, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)  # a new shuffle of the shares each epoch
        fit = run_epoch(
            learner,
            train_batches,
            loss_fn=loss_fn,
            device=device,
            stop=stop,
            optimizer=optimizer,
            scheduler=scheduler,
            max_steps=max_steps,
            on_step=_reporter(on_step, epoch, steps_per_epoch, "train", group.size),
            group=group,
        )
        train_seconds = time.perf_counter() - epoch_started
        if fit.stopped:
            return replace(outcome, stopped=True, stopped_epoch=epoch, stopped_step=fit.steps_done)
        check = None
        if validation_batches is not None:
            check = evaluate(
                model,
                validation_batches,
                device=device,
                stop=stop,
                epoch=epoch,
                on_step=on_step,
                max_steps=max_steps,
                group=group,
            )
            if check.stopped:
                return replace(
                    outcome, stopped=True, stopped_epoch=epoch, stopped_step=fit.steps_done
                )
        result = EpochResult(
            epoch=epoch,
            epochs=last,
            train_loss=fit.loss,
            train_acc=fit.accuracy,
            seconds=time.perf_counter() - epoch_started,
            images_per_sec=fit.samples / train_seconds if train_seconds > 0 else 0.0,
            validation_loss=check.loss if check else math.nan,
            validation_acc=check.accuracy if check else math.nan,
        )
        outcome.history.append(result)
        improved = result.beats(outcome.best)
        if improved:
            outcome.best = result
        if improved and on_best is not None:
            on_best(result)
        if on_epoch is not None:
            on_epoch(result)
        if _out_of_patience(outcome, patience):
            outcome.early_stopped = True
            break
        finish_asked = finish is not None and finish.is_set()
        if group.agree(finish_asked) and epoch < last:
            outcome.finished_early = True
            break
    return outcome


def _reporter(
    on_step: StepCallback | None, epoch: int, steps: int, phase: str, processes: int
) -> Callable[[int, float, int, float], None] | None:
    """Steps reported with the images per second of all ``processes`` (each does as many)."""
    if on_step is None:
        return None

    def report(step: int, loss: float, images: int, seconds: float) -> None:
        rate = images * processes / seconds if seconds > 0 else 0.0
        on_step(StepReport(epoch, step, steps, loss, rate, phase))

    return report


def _out_of_patience(outcome: TrainOutcome, patience: int) -> bool:
    best, last = outcome.best, outcome.history[-1]
    return (
        patience > 0 and best is not None and best.validated and last.epoch - best.epoch >= patience
    )
