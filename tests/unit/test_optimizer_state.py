"""The optimizer's state round-trips through ``optimizer.safetensors`` without pickle, keeps
the new run's learning rates, and a file that does not fit is refused with a message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from torch import nn

from food_vision.optimizer_state import (
    OPTIMIZER_FILE,
    OptimizerStateError,
    restore_optimizer_state,
    save_optimizer_state,
    snapshot,
)


def stepped(model: nn.Module, lr: float = 0.01, steps: int = 3) -> torch.optim.AdamW:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.ones(4, 3)).square().sum().backward()
        optimizer.step()
    return optimizer


def test_state_round_trips_and_keeps_the_new_learning_rate(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    saved = snapshot(stepped(model))
    save_optimizer_state(saved, tmp_path)
    with safe_open(str(tmp_path / OPTIMIZER_FILE), framework="pt") as stored:
        assert stored.metadata()["format"] == "foodvision-optimizer-1"

    fresh = torch.optim.AdamW(model.parameters(), lr=0.5)
    restore_optimizer_state(fresh, tmp_path / OPTIMIZER_FILE)
    restored = fresh.state_dict()
    for index, entries in saved["state"].items():
        for name, value in entries.items():
            assert torch.equal(restored["state"][index][name], value), name
    assert float(restored["state"][0]["step"]) == 3.0
    assert fresh.param_groups[0]["lr"] == 0.5  # the continued run's own rate


def test_a_snapshot_does_not_follow_later_steps() -> None:
    model = nn.Linear(3, 2)
    optimizer = stepped(model)
    kept = snapshot(optimizer)
    before = kept["state"][0]["exp_avg"].clone()
    optimizer.zero_grad()
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    assert torch.equal(kept["state"][0]["exp_avg"], before)


def test_state_of_other_parameters_is_refused(tmp_path: Path) -> None:
    save_optimizer_state(snapshot(stepped(nn.Linear(3, 2))), tmp_path)
    other = torch.optim.AdamW(nn.Linear(3, 5).parameters())
    with pytest.raises(OptimizerStateError, match="shape"):
        restore_optimizer_state(other, tmp_path / OPTIMIZER_FILE)
    deeper = torch.optim.AdamW(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)).parameters())
    with pytest.raises(OptimizerStateError, match="other trainable parameters"):
        restore_optimizer_state(deeper, tmp_path / OPTIMIZER_FILE)


def test_a_half_written_or_foreign_file_is_refused(tmp_path: Path) -> None:
    save_optimizer_state(snapshot(stepped(nn.Linear(3, 2))), tmp_path)
    path = tmp_path / OPTIMIZER_FILE
    path.write_bytes(path.read_bytes()[:-10])
    optimizer = torch.optim.AdamW(nn.Linear(3, 2).parameters())
    with pytest.raises(OptimizerStateError, match="not a valid safetensors file"):
        restore_optimizer_state(optimizer, path)
    with pytest.raises(OptimizerStateError, match="missing"):
        restore_optimizer_state(optimizer, tmp_path / "absent.safetensors")
