"""Continuing a run: a new run that trains more epochs from its parent's model and optimizer.

A child trains the same network on the same data: dataset, architecture, image size and what
of the network trains come from the parent, and a request that says otherwise is refused
naming the field; other options it does not give are the parent's too, except ``epochs``,
which counts the epochs to add. Only a run that ended with a model can be continued: a
completed one (stopped early or not), or a cancelled one that kept its best finished epoch.
The child starts from the model the parent kept (its best epoch) and numbers its epochs on
from the parent's last one. Checked by the server when the run is asked for and again by the
trainer when it starts, since the parent's files or the dataset may change in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from food_vision.bundle import WEIGHTS_FILE, BundleError, ModelMeta, read_meta
from food_vision.config import ConfigError, TrainConfig
from food_vision.events import EpochEnd
from food_vision.optimizer_state import OPTIMIZER_FILE
from food_vision.runs import RunRecord, RunStatus, is_valid_run_id, read_events, read_run

# What decides the network's shape and which of its parameters train: the parent's, always.
LOCKED = ("dataset", "architecture", "image_size", "pretrained", "fine_tune_blocks")
# A continued run trains in one process (see README); it adds epochs rather than repeating.
NOT_INHERITED = ("epochs", "parent", "processes")
MAX_GENERATIONS = 100  # a chain of continued runs is read back this far at most


class ParentUnusableError(RuntimeError):
    """The parent run cannot be continued now (its state, or its model file)."""

    def __init__(self, run_id: str, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id


@dataclass(frozen=True)
class ParentRun:
    folder: Path
    record: RunRecord
    meta: ModelMeta
    last_epoch: int  # numbering of the child's epochs goes on from here

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def optimizer_path(self) -> Path | None:
        """Its optimizer state; None for runs saved before there was one."""
        path = self.folder / OPTIMIZER_FILE
        return path if path.exists() else None

    def load_weights(self, model: nn.Module) -> None:
        """Put the parent's kept weights into ``model`` (the same network, built afresh)."""
        try:
            model.load_state_dict(load_file(str(self.folder / WEIGHTS_FILE)), strict=True)
        except (SafetensorError, OSError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParentUnusableError(
                self.id, f"run {self.id}'s model cannot be loaded: {first}"
            ) from None

    def note(self) -> str:
        """What a person should know about where the run starts."""
        start = f"continues run {self.id} after its epoch {self.last_epoch}, from its model"
        if self.optimizer_path is None:
            return f"{start}; run {self.id} saved no optimizer state, so a fresh optimizer starts"
        return f"{start} and optimizer state"


def open_parent(run_id: str, runs_dir: Path) -> ParentRun:
    """The parent, checked: known (else ConfigError on ``parent``), ended with a model and its
    model file whole (else :class:`ParentUnusableError`)."""
    folder = runs_dir / run_id
    record = read_run(folder) if is_valid_run_id(run_id) and not folder.is_symlink() else None
    if record is None:
        raise ConfigError("parent", f"there is no run {run_id[:80]!r} to continue")
    usable = record.status is RunStatus.COMPLETED or (
        record.status is RunStatus.CANCELLED and record.has_model
    )
    if not usable:
        state = "cancelled without a model" if record.status is RunStatus.CANCELLED else None
        raise not_continuable(run_id, state or record.status.value)
    try:
        meta = read_meta(folder)
        _check_weights(folder / WEIGHTS_FILE)
    except BundleError as exc:
        raise ParentUnusableError(run_id, f"run {run_id}'s model cannot be read: {exc}") from None
    epochs = [event.epoch for event in read_events(folder) if isinstance(event, EpochEnd)]
    return ParentRun(folder, record, meta, max(epochs, default=record.epoch))


def not_continuable(run_id: str, state: str) -> ParentUnusableError:
    """The refusal of a parent in ``state`` (its status, or what is being done to it)."""
    return ParentUnusableError(
        run_id,
        f"run {run_id} is {state}: only a completed run, or a cancelled one that kept a "
        "model, can be continued",
    )


def _check_weights(path: Path) -> None:
    """The weights file is there and whole: its header names every tensor's bytes, and the
    file holds them all (cheap, without reading them)."""
    try:
        with safe_open(str(path), framework="pt"):
            pass
    except FileNotFoundError:
        raise BundleError(f"{WEIGHTS_FILE} is missing") from None
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{WEIGHTS_FILE} is damaged or half-written ({exc})") from None


def continue_config(config: TrainConfig, parent: ParentRun) -> TrainConfig:
    """``config`` as a continued run trains it: what it does not set is its parent's, and what
    it sets of the locked fields must be the parent's too."""
    known = set(TrainConfig.model_fields) - set(NOT_INHERITED)
    inherited = {key: value for key, value in parent.record.config.items() if key in known}
    given = {
        name: getattr(config, name)
        for name in config.model_fields_set
        if getattr(config, name) is not None
    }
    for name in LOCKED:
        if name in given and name in inherited and given[name] != inherited[name]:
            raise ConfigError(
                name,
                f"a continued run keeps its parent's {name} ({inherited[name]!r} in run "
                f"{parent.id}); leave it out",
            )
    merged = TrainConfig.parse({**inherited, **given})
    if merged.processes > 1:
        raise ConfigError("processes", "a continued run trains in one process: leave it at 1")
    return merged


def check_classes(parent: ParentRun, classes: list[str], dataset: str) -> None:
    """The dataset still has the parent's classes, in the same order (the model's outputs)."""
    if list(classes) == list(parent.meta.classes):
        return
    added = sorted(set(classes) - set(parent.meta.classes))
    removed = sorted(set(parent.meta.classes) - set(classes))
    changes = [f"added {', '.join(added)}"] if added else []
    changes += [f"removed {', '.join(removed)}"] if removed else []
    said = "; ".join(changes) or "their order changed"
    raise ConfigError(
        "dataset",
        f"the classes of {dataset} changed since run {parent.id} was trained ({said}): "
        "a continued run needs the same classes; start a new run instead",
    )


def ancestor_epochs(record: RunRecord, runs_dir: Path) -> list[EpochEnd]:
    """The finished epochs of the runs ``record`` continues, oldest first: its history's
    beginning. A chain broken by a deleted run starts where it breaks."""
    chain: list[list[EpochEnd]] = []
    parent = _parent_of(record)
    while parent is not None and len(chain) < MAX_GENERATIONS:
        folder = runs_dir / parent
        found = read_run(folder) if is_valid_run_id(parent) else None
        if found is None:
            break
        chain.append([event for event in read_events(folder) if isinstance(event, EpochEnd)])
        parent = _parent_of(found)
    return [epoch for epochs in reversed(chain) for epoch in epochs]


def _parent_of(record: RunRecord) -> str | None:
    parent: Any = record.config.get("parent")
    return parent if isinstance(parent, str) else None
