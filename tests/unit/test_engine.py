"""The training engine: sample-weighted metrics, stopping at a batch boundary, frozen BN."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn

from food_vision.engine import EpochResult, StepReport, run_epoch, train
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
        test_batches=split(x, y, 2),
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
        assert result.test_loss == pytest.approx(expected_loss, rel=1e-6)
        assert result.train_acc == pytest.approx(expected_acc)
        assert result.test_acc == pytest.approx(expected_acc)
        assert result.epochs == 2
    assert [(s.epoch, s.step, s.steps) for s in steps] == [
        (epoch, step, 3) for epoch in (1, 2) for step in (1, 2, 3)
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
    train_batches, test_batches = random_batches(6, 1), random_batches(2, 2)
    snapshot: dict[str, Tensor] = {}
    epochs_seen: list[EpochResult] = []

    def on_step(report: StepReport) -> None:
        if (report.epoch, report.step) == (2, 2):
            stop.set()
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})

    outcome = train(
        model,
        train_batches=train_batches,
        test_batches=test_batches,
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
    assert test_batches.drawn == 2  # only epoch 1 was evaluated


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
        test_batches=StopOnSecondEvaluation(random_batches(2, 2).batches),
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
        test_batches=random_batches(1, 2),
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
    train_batches, test_batches = random_batches(5, 1), random_batches(5, 2)
    outcome = train(
        model,
        train_batches=train_batches,
        test_batches=test_batches,
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
