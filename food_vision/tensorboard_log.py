"""TensorBoard scalars of a run, written by the trainer into ``<run>/tensorboard/`` as its
epochs end (``tensorboard --logdir .foodvision/runs`` shows every run side by side).

``tensorboard`` is an optional extra: asking for it without the package is refused up front
with the command that installs it, never a crash part-way through a run.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path

from food_vision.events import EpochEnd, Event, Progress

TENSORBOARD_DIR = "tensorboard"
NAMES = {"loss": "loss", "acc": "accuracy"}
INSTALL_HINT = "pip install -e '.[tensorboard]' (or: pip install tensorboard)"


class TensorBoardMissing(ValueError):
    """TensorBoard logging was asked for but the package is not installed."""


def require_tensorboard() -> None:
    if importlib.util.find_spec("tensorboard") is None:
        raise TensorBoardMissing(
            f"TensorBoard logging needs the tensorboard package: {INSTALL_HINT}"
        )


def tensorboard_listener(folder: Path, learning_rate: float) -> Callable[[Event], None]:
    """A reporter listener that writes each epoch's figures as scalars."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(folder / TENSORBOARD_DIR))
    speed = {"images_per_sec": 0.0}

    def write(event: Event) -> None:
        if isinstance(event, Progress):
            speed["images_per_sec"] = event.images_per_sec
        elif isinstance(event, EpochEnd):
            step = event.epoch
            for metric in ("loss", "acc"):
                figures = {
                    split: getattr(event, f"{split}_{metric}")
                    for split in ("train", "validation", "test")
                    if not math.isnan(getattr(event, f"{split}_{metric}"))
                }
                writer.add_scalars(NAMES[metric], figures, step)
            writer.add_scalar("learning_rate", learning_rate, step)
            writer.add_scalar("images_per_sec", speed["images_per_sec"], step)
            writer.add_scalar("epoch_seconds", event.seconds, step)
            writer.flush()
        elif event.is_final:
            writer.close()

    return write
