"""One optimiser step of the real engine in a process group of one or more, for comparing what
data-parallel training learns with what one process learns."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import torch
from torch import distributed as dist
from torch import nn
from torch.utils.data import TensorDataset

from food_vision.datasets.loaders import seeded_loader
from food_vision.distributed import Group
from food_vision.engine import train

SAMPLES, FEATURES, CLASSES = 8, 6, 3


def dataset() -> TensorDataset:
    generator = torch.Generator().manual_seed(7)
    inputs = torch.randn(SAMPLES, FEATURES, generator=generator)
    labels = torch.randint(0, CLASSES, (SAMPLES,), generator=generator)
    return TensorDataset(inputs, labels)


def small_net() -> nn.Module:
    """The same weights every time."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, CLASSES))


def one_step(rank: int, size: int, batch_size: int, port: int, out: Path) -> None:
    """Train a small net for one step of ``batch_size`` per process; the leader writes the
    weights and the reported figures to ``out``."""
    if size > 1:
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size
        )
    group = Group(rank=rank, size=size, local_rank=rank, local_size=size)
    net = small_net()
    data = dataset()
    batches = seeded_loader(
        data,
        batch_size=batch_size,
        workers=0,
        seed=0,
        shuffle=True,
        sampler=group.train_sampler(data, seed=0),
    )
    outcome = train(
        net,
        train_batches=batches,
        validation_batches=None,
        steps_per_epoch=1,
        epochs=1,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.5),
        device=torch.device("cpu"),
        stop=threading.Event(),
        group=group,
    )
    if group.leader:
        (epoch,) = outcome.history
        figures = {"loss": epoch.train_loss, "accuracy": epoch.train_acc}
        torch.save({k: v.clone() for k, v in net.state_dict().items()}, out / "weights.pt")
        (out / "figures.json").write_text(json.dumps(figures), encoding="utf-8")
    group.close()
