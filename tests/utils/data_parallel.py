"""The real engine's step and feature pass in a process group of one or more, for comparing
what data-parallel training computes with what one process computes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import torch
from torch import distributed as dist
from torch import nn
from torch.utils.data import TensorDataset

from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.loaders import seeded_loader
from food_vision.distributed import Group
from food_vision.engine import train
from food_vision.features import SplitImages, compute_features
from food_vision.transforms import eval_transform

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


def both(rank: int, size: int, port: int, data: Path, out: Path) -> None:
    """:func:`one_step` (a batch of ``SAMPLES // size`` each) and :func:`feature_pass` in a
    group of ``size`` processes, this one ``rank``."""
    if size > 1:
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size
        )
    group = Group(rank=rank, size=size, local_rank=rank, local_size=size)
    one_step(group, SAMPLES // size, out)
    feature_pass(group, data, out / "features")
    group.close()


def one_step(group: Group, batch_size: int, out: Path) -> None:
    """Train a small net for one step of ``batch_size`` per process; the leader writes the
    weights and the reported figures to ``out``."""
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


def feature_pass(group: Group, data: Path, folder: Path) -> None:
    """A small frozen front's features of ``data``'s splits into ``folder``, each process of
    ``group`` computing its share."""
    torch.manual_seed(0)
    front = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    plain = eval_transform(32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    summary = validate_image_folder(data)
    splits = [SplitImages(name, summary.samples(name), plain) for name in ("train", "test")]
    compute_features(
        front,
        splits,
        folder,
        {"front": "small"},
        device=torch.device("cpu"),
        workers=0,
        seed=0,
        stop=threading.Event(),
        group=group,
    )
