"""The training engine: sample-weighted metrics, stopping at a batch boundary, frozen BN, the
best epoch chosen on validation, early stopping, and the best epoch's weights kept."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from food_vision.engine import EpochResult, StepReport, TrainOutcome, run_epoch, train
from food_vision.keeper import BestKeeper
from food_vision.models.freeze import freeze_except, set_train_mode

CPU = torch.device("cpu")


class Batches:
    """A re-iterable list of batches that counts how many batches were drawn."""

    def __init__(self, batches: list[tuple[Tensor, Tensor]]) -> None:
        self.batches = batches
        self.drawn = 0

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for batch in self.batches:
            self.drawn += 1
            yield batch

    def __len__(self) -> int:
        return len(self.batches)


def split(x: Tensor, y: Tensor, size: int) -> Batches:
    return Batches([(x[i : i + size], y[i : i + size]) for i in range(0, len(y), size)])


def fixed_linear() -> nn.Linear:
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 2.0]]))
        model.bias.zero_()
    return model


def lopsided_data() -> tuple[Tensor, Tensor]:
    """Four easy samples, then one confidently wrong one that lands in a short last batch."""
    x = torch.tensor([[3.0, 0.0], [0.0, 3.0], [2.0, 0.0], [0.0, 2.0], [5.0, 0.0]])
    y = torch.tensor([0, 1, 0, 1, 1])
    return x, y


def by_hand(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float, float]:
    """(weighted loss, accuracy, mean of per-batch means with batches of 2)."""
    with torch.no_grad():
        logits = model(x)
        losses = nn.functional.cross_entropy(logits, y, reduction="none")
        accuracy = float((logits.argmax(1) == y).float().mean())
        batch_means = [float(losses[i : i + 2].mean()) for i in range(0, len(y), 2)]
    return float(losses.sum() / len(y)), accuracy, sum(batch_means) / len(batch_means)


def test_evaluation_metrics_are_weighted_by_sample_count() -> None:
    model = fixed_linear()
    x, y = lopsided_data()
    expected_loss, expected_acc, per_batch_mean = by_hand(model, x, y)
    assert abs(expected_loss - per_batch_mean) > 0.5  # the data tells the two apart

    result = run_epoch(
        model, split(x, y, 2), loss_fn=nn.CrossEntropyLoss(), device=CPU, stop=threading.Event()
    )

    assert result.samples == 5
    assert result.steps_done == 3
    assert result.loss == pytest.approx(expected_loss, rel=1e-6)
    assert result.accuracy == pytest.approx(expected_acc)
    assert expected_acc == pytest.approx(0.8)


def test_training_history_is_weighted_by_sample_count() -> None:
    model = fixed_linear()
    x, y = lopsided_data()
    expected_loss, expected_acc, _ = by_hand(model, x, y)
    # lr 0: the weights stay put, so the figures can be computed by hand.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    steps: list[StepReport] = []

    outcome = train(
        model,
        train_batches=split(x, y, 2),
        validation_batches=split(x, y, 2),
        steps_per_epoch=3,
        epochs=2,
        optimizer=optimizer,
        device=CPU,
        stop=threading.Event(),
        on_step=steps.append,
    )

    assert not outcome.stopped
    assert [r.epoch for r in outcome.history] == [1, 2]
    for result in outcome.history:
        assert result.train_loss == pytest.approx(expected_loss, rel=1e-6)
        assert result.validation_loss == pytest.approx(expected_loss, rel=1e-6)
        assert result.train_acc == pytest.approx(expected_acc)
        assert result.validation_acc == pytest.approx(expected_acc)
        assert result.epochs == 2
    assert [(s.phase, s.epoch, s.step, s.steps) for s in steps] == [
        (phase, epoch, step, 3)
        for epoch in (1, 2)
        for phase in ("train", "eval")
        for step in (1, 2, 3)
    ]
    with torch.no_grad():
        last_batch_loss = float(nn.functional.cross_entropy(model(x[4:]), y[4:]))
    assert steps[2].loss == pytest.approx(last_batch_loss, rel=1e-6)


def test_empty_split_gives_nan_not_a_crash() -> None:
    result = run_epoch(
        fixed_linear(), [], loss_fn=nn.CrossEntropyLoss(), device=CPU, stop=threading.Event()
    )
    assert result.samples == 0
    assert result.loss != result.loss  # NaN


def random_batches(count: int, seed: int) -> Batches:
    generator = torch.Generator().manual_seed(seed)
    return Batches(
        [
            (torch.randn(4, 2, generator=generator), torch.randint(0, 2, (4,), generator=generator))
            for _ in range(count)
        ]
    )


def test_stop_mid_epoch_ends_at_the_next_batch_boundary() -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    stop = threading.Event()
    train_batches, validation_batches = random_batches(6, 1), random_batches(2, 2)
    snapshot: dict[str, Tensor] = {}
    epochs_seen: list[EpochResult] = []

    def on_step(report: StepReport) -> None:
        if (report.phase, report.epoch, report.step) == ("train", 2, 2):
            stop.set()
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})

    outcome = train(
        model,
        train_batches=train_batches,
        validation_batches=validation_batches,
        steps_per_epoch=6,
        epochs=3,
        optimizer=optimizer,
        device=CPU,
        stop=stop,
        on_step=on_step,
        on_epoch=epochs_seen.append,
    )

    assert outcome.stopped
    assert (outcome.stopped_epoch, outcome.stopped_step) == (2, 2)
    assert [r.epoch for r in outcome.history] == [1]  # the unfinished epoch is not history
    assert [r.epoch for r in epochs_seen] == [1]
    # No step after the one that set the flag: the weights are as they were then.
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshot[key])
    # Epoch 1 drew all 6 batches; epoch 2 drew 2 and, at most, one more it did not train on.
    assert train_batches.drawn in (8, 9)
    assert validation_batches.drawn == 2  # only epoch 1 was validated


def test_stop_during_evaluation_drops_that_epoch() -> None:
    model = nn.Linear(2, 2)
    stop = threading.Event()

    class StopOnSecondEvaluation(Batches):
        def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
            self.passes = getattr(self, "passes", 0) + 1
            if self.passes == 2:
                stop.set()
            return super().__iter__()

    outcome = train(
        model,
        train_batches=random_batches(3, 1),
        validation_batches=StopOnSecondEvaluation(random_batches(2, 2).batches),
        steps_per_epoch=3,
        epochs=4,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device=CPU,
        stop=stop,
    )
    assert outcome.stopped
    assert outcome.stopped_epoch == 2
    assert outcome.stopped_step == 3
    assert [r.epoch for r in outcome.history] == [1]


def test_stop_already_set_trains_nothing() -> None:
    model = nn.Linear(2, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    stop = threading.Event()
    stop.set()
    outcome = train(
        model,
        train_batches=random_batches(3, 1),
        validation_batches=random_batches(1, 2),
        steps_per_epoch=3,
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device=CPU,
        stop=stop,
    )
    assert (outcome.stopped, outcome.stopped_epoch, outcome.stopped_step) == (True, 1, 0)
    assert outcome.history == []
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_max_steps_limits_each_pass() -> None:
    model = nn.Linear(2, 2)
    train_batches, validation_batches = random_batches(5, 1), random_batches(5, 2)
    outcome = train(
        model,
        train_batches=train_batches,
        validation_batches=validation_batches,
        steps_per_epoch=1,
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device=CPU,
        stop=threading.Event(),
        max_steps=1,
    )
    assert len(outcome.history) == 2
    assert train_batches.drawn == 4  # one trained and one drawn-then-left per epoch


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.neck = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.neck(self.features(x)))


def test_set_train_mode_keeps_frozen_batch_norm_in_eval() -> None:
    model = Backbone()
    for param in model.features.parameters():
        param.requires_grad_(False)
    model.eval()

    set_train_mode(model)

    assert model.training
    assert not model.features[1].training  # frozen BN
    assert model.neck[1].training  # trainable BN
    assert model.features[0].training and model.head[2].training


def test_training_leaves_frozen_batch_norm_statistics_alone() -> None:
    torch.manual_seed(0)
    model = Backbone()
    freeze_except(model, model.head)
    frozen_bn, free_bn = model.features[1], model.neck[1]
    for param in model.neck.parameters():
        param.requires_grad_(True)
    frozen_before = frozen_bn.running_mean.clone(), frozen_bn.running_var.clone()
    free_before = free_bn.running_mean.clone()
    head_before = model.head[2].weight.clone()
    generator = torch.Generator().manual_seed(3)
    batches = [
        (torch.randn(4, 3, 8, 8, generator=generator) * 3 + 2, torch.tensor([0, 1, 0, 1]))
        for _ in range(3)
    ]
    trainable = [p for p in model.parameters() if p.requires_grad]

    run_epoch(
        model,
        batches,
        loss_fn=nn.CrossEntropyLoss(),
        device=CPU,
        stop=threading.Event(),
        optimizer=torch.optim.SGD(trainable, lr=0.1),
    )

    assert torch.equal(frozen_bn.running_mean, frozen_before[0])
    assert torch.equal(frozen_bn.running_var, frozen_before[1])
    assert not torch.equal(free_bn.running_mean, free_before)
    assert not torch.equal(model.head[2].weight, head_before)


class ScriptedValidation:
    """Validation batches whose labels agree with the model's predictions only on the passes
    listed in ``right_on``: the validation accuracy of each epoch is chosen by the test."""

    def __init__(self, model: nn.Module, right_on: set[int], x: Tensor) -> None:
        self.model, self.right_on, self.x = model, right_on, x
        self.passes = 0

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        self.passes += 1
        with torch.no_grad():
            predicted = self.model(self.x).argmax(1)
        labels = predicted if self.passes in self.right_on else 1 - predicted
        yield self.x, labels

    def __len__(self) -> int:
        return 1


def train_linear(model: nn.Module, validation: object, **changes: Any) -> TrainOutcome:
    """Two batches of random data per epoch, SGD at 0.5; ``changes`` override the rest."""
    settings: dict[str, Any] = {
        "train_batches": random_batches(2, 1),
        "validation_batches": validation,
        "steps_per_epoch": 2,
        "epochs": 4,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.5),
        "device": CPU,
        "stop": threading.Event(),
    }
    return train(model, **{**settings, **changes})


def scripted_model() -> tuple[nn.Module, Tensor]:
    torch.manual_seed(0)
    return nn.Linear(2, 2), torch.randn(8, 2, generator=torch.Generator().manual_seed(5))


def scripted_run(
    right_on: set[int], *, epochs: int, patience: int = 0
) -> tuple[TrainOutcome, list[int]]:
    model, x = scripted_model()
    bests: list[int] = []
    outcome = train_linear(
        model,
        ScriptedValidation(model, right_on, x),
        epochs=epochs,
        patience=patience,
        on_best=lambda result: bests.append(result.epoch),
    )
    return outcome, bests


def test_the_best_epoch_is_chosen_on_validation() -> None:
    outcome, bests = scripted_run({2}, epochs=4)
    assert [r.validation_acc for r in outcome.history] == [0.0, 1.0, 0.0, 0.0]
    assert bests == [1, 2]  # the first epoch is the best so far, then the second beats it
    assert outcome.best is not None and outcome.best.epoch == 2
    assert not outcome.early_stopped and len(outcome.history) == 4


def test_a_tie_goes_to_the_lower_validation_loss() -> None:
    first = EpochResult(1, 3, 1.0, 0.5, 1.0, 1.0, validation_loss=0.5, validation_acc=0.8)
    tie = EpochResult(2, 3, 1.0, 0.5, 1.0, 1.0, validation_loss=0.4, validation_acc=0.8)
    worse = EpochResult(3, 3, 1.0, 0.5, 1.0, 1.0, validation_loss=0.6, validation_acc=0.8)
    assert tie.beats(first) and not worse.beats(first) and not first.beats(first)


def test_without_validation_the_latest_epoch_is_kept() -> None:
    bests: list[int] = []
    outcome = train_linear(
        nn.Linear(2, 2), None, epochs=3, patience=1, on_best=lambda r: bests.append(r.epoch)
    )
    assert bests == [1, 2, 3] and len(outcome.history) == 3  # patience needs a validation split
    assert all(math.isnan(r.validation_acc) for r in outcome.history)
    assert set(outcome.history[-1].metrics()) == {"train_loss", "train_acc"}


def test_early_stopping_ends_after_patience_epochs_without_a_better_one() -> None:
    outcome, bests = scripted_run({2}, epochs=20, patience=3)
    assert outcome.early_stopped and not outcome.stopped
    assert [r.epoch for r in outcome.history] == [1, 2, 3, 4, 5]  # 3 epochs after the best
    assert bests == [1, 2]


def test_the_best_epoch_is_the_model_kept() -> None:
    """The keeper hands back the weights of the best epoch, not those of the last, and writes
    the best epoch when asked to make sure it is on disk."""
    model, x = scripted_model()
    written: list[tuple[int, dict[str, Tensor]]] = []
    keeper = BestKeeper(
        model,
        lambda result: written.append((result.epoch, copy.deepcopy(model.state_dict()))),
        torch.optim.SGD(model.parameters(), lr=0.1),
        interval=3600.0,
    )
    after_epoch: dict[int, dict[str, Tensor]] = {}
    outcome = train_linear(
        model,
        ScriptedValidation(model, {2}, x),
        on_epoch=lambda r: after_epoch.update({r.epoch: copy.deepcopy(model.state_dict())}),
        on_best=keeper.keep,
    )
    assert outcome.best is not None and outcome.best.epoch == 2
    assert not _same(model.state_dict(), after_epoch[2])  # training went on after the best

    assert written == []  # within the interval nothing is written before the end
    assert keeper.flush()
    assert [epoch for epoch, _ in written] == [2]
    assert _same(written[0][1], after_epoch[2]) and _same(model.state_dict(), after_epoch[2])
    keeper.flush()
    assert len(written) == 1  # already on disk: not written again


def test_the_keeper_writes_a_new_best_once_the_interval_has_passed() -> None:
    model = nn.Linear(2, 2)
    written: list[int] = []
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    keeper = BestKeeper(model, lambda result: written.append(result.epoch), optimizer, 0.0)
    for epoch in (1, 2):
        keeper.keep(EpochResult(epoch, 2, 1.0, 0.5, 1.0, 1.0))
    assert written == [1, 2]
    assert not BestKeeper(model, written.append, optimizer).flush()  # no epoch: nothing to write


def _same(a: dict[str, Tensor], b: dict[str, Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_finish_ends_training_after_the_epoch_under_way() -> None:
    torch.manual_seed(0)
    model, finish, seen = nn.Linear(2, 2), threading.Event(), []

    def on_step(report: StepReport) -> None:
        if (report.phase, report.epoch, report.step) == ("train", 2, 1):
            finish.set()  # mid-epoch: epoch 2 still runs in full

    outcome = train_linear(
        model, random_batches(2, 2), on_step=on_step, finish=finish, on_epoch=seen.append
    )
    assert [r.epoch for r in outcome.history] == [1, 2] == [r.epoch for r in seen]
    assert outcome.finished_early and not outcome.stopped
