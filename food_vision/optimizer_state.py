"""An optimizer's state as ``optimizer.safetensors``: what a continued run needs to pick up
where its parent stopped (AdamW's moments and step counts), never pickled.

Every tensor of the state is stored flat under ``state.<param>.<name>``; what is not a tensor
(the param groups, and any plain number in the state) is JSON in the file's metadata.
Restoring keeps the optimizer's own hyperparameters (its learning rates come from the new
run's config) and takes only the per-parameter state, after checking it fits the parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from food_vision.atomic import atomic_write_bytes

OPTIMIZER_FILE = "optimizer.safetensors"
FORMAT = "foodvision-optimizer-1"


class OptimizerStateError(ValueError):
    """The saved state is unreadable or does not fit the optimizer; the message says how."""


def snapshot(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """A copy of the optimizer's state that later steps do not change."""
    state = optimizer.state_dict()
    copied = {
        index: {
            name: value.detach().clone() if isinstance(value, torch.Tensor) else value
            for name, value in entries.items()
        }
        for index, entries in state["state"].items()
    }
    return {"state": copied, "param_groups": state["param_groups"]}


def save_optimizer_state(state: dict[str, Any], folder: Path) -> None:
    """Write ``state`` (a :func:`snapshot`) atomically beside the run's model."""
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain[f"{index}.{name}"] = value
    metadata = {
        "format": FORMAT,
        "param_groups": json.dumps(state["param_groups"]),
        "plain": json.dumps(plain),
    }
    atomic_write_bytes(folder / OPTIMIZER_FILE, save(tensors, metadata=metadata))


def restore_optimizer_state(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Load the per-parameter state saved at ``path`` into ``optimizer``, keeping its
    hyperparameters; raises :class:`OptimizerStateError` when it does not fit."""
    tensors, metadata = _read(path)
    try:
        saved_groups = json.loads(metadata["param_groups"])
        plain = json.loads(metadata["plain"])
    except (KeyError, ValueError) as exc:
        raise OptimizerStateError(f"{path.name} has no readable param groups ({exc})") from None
    groups = optimizer.state_dict()["param_groups"]
    if [len(group["params"]) for group in saved_groups] != [len(g["params"]) for g in groups]:
        raise OptimizerStateError(f"{path.name} was saved for other trainable parameters")
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = tensor
    for key, value in plain.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    _check_shapes(optimizer, state, path)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as stored:
            metadata = stored.metadata() or {}
            tensors = {key: stored.get_tensor(key) for key in stored.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise OptimizerStateError(f"{path.name} is missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise OptimizerStateError(f"{path.name} is not a valid safetensors file ({exc})") from None
    if metadata.get("format") != FORMAT:
        raise OptimizerStateError(f"{path.name} is not an optimizer state of this program")
    return tensors, metadata


def _check_shapes(
    optimizer: torch.optim.Optimizer, state: dict[int, dict[str, Any]], path: Path
) -> None:
    """Moments must have their parameter's shape: ``load_state_dict`` does not check it."""
    params = [param for group in optimizer.param_groups for param in group["params"]]
    for index, entries in state.items():
        if not 0 <= index < len(params):
            raise OptimizerStateError(f"{path.name} holds state for an unknown parameter")
        for name, value in entries.items():
            if (
                isinstance(value, torch.Tensor)
                and value.dim()
                and value.shape != params[index].shape
            ):
                raise OptimizerStateError(
                    f"{path.name}: {name} of parameter {index} has shape {tuple(value.shape)}, "
                    f"the parameter {tuple(params[index].shape)}"
                )
