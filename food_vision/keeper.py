"""The best epoch's weights: held in memory as soon as they are reached, written to the run's
bundle now and then, and for good when the run ends or is cancelled.

Writing a bundle costs a good part of a second (the whole network, synced to disk), while a
head trained on cached features runs many epochs a second: writing every better epoch would
cost more than the training. Written at most every ``interval`` seconds, a trainer killed
without warning loses at most that much; a cancelled one writes its best epoch before it ends.
The optimizer's state is kept with the weights: a run continued from this one goes on from the
same epoch's moments, not from those of later, worse epochs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from food_vision.engine import EpochResult
from food_vision.optimizer_state import snapshot

SAVE_INTERVAL_SECONDS = 15.0


class BestKeeper:
    def __init__(
        self,
        net: nn.Module,
        write: Callable[[EpochResult], None],
        optimizer: torch.optim.Optimizer,
        interval: float = SAVE_INTERVAL_SECONDS,
    ) -> None:
        self.net = net
        self.optimizer = optimizer
        self.optimizer_state: dict[str, Any] | None = None  # the best epoch's
        self.write = write
        self.interval = interval
        self.best: EpochResult | None = None
        self._state: dict[str, Tensor] = {}
        self._written: EpochResult | None = None
        self._last_write = time.monotonic()

    def keep(self, result: EpochResult) -> None:
        """``result`` is the best epoch so far and ``net`` holds its weights now."""
        self.best = result
        self._state = {key: value.detach().clone() for key, value in self.net.state_dict().items()}
        self.optimizer_state = snapshot(self.optimizer)
        if time.monotonic() - self._last_write >= self.interval:
            self._write(result)

    def restore(self) -> EpochResult | None:
        """Put the best epoch's weights back into ``net``; the best epoch, if any."""
        if self.best is not None:
            self.net.load_state_dict(self._state)
        return self.best

    def flush(self) -> bool:
        """Make sure the best epoch is on disk (``net`` ends up holding it); False when no
        epoch finished."""
        best = self.restore()
        if best is not None and self._written is not best:
            self._write(best)
        return best is not None

    def _write(self, result: EpochResult) -> None:
        self.write(result)
        self._written = result
        self._last_write = time.monotonic()
