"""What a person sees of a run started by hand on a terminal: a progress bar and epoch lines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from food_vision.events import Cancelled, Completed, EpochEnd, Event, Progress, Started


def terminal_progress() -> Callable[[Event], None]:
    """A listener for the reporter that draws the events on standard error."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def show(event: Event) -> None:
        if isinstance(event, Started):
            print(f"training on {event.num_train} images, {event.classes}", file=sys.stderr)
        elif isinstance(event, Progress):
            bar = bars.get("bar")
            if bar is None or bar.desc != f"epoch {event.epoch}":
                if bar is not None:
                    bar.close()
                bar = bars["bar"] = tqdm(
                    total=event.steps, desc=f"epoch {event.epoch}", leave=False
                )
            bar.n = event.step
            bar.set_postfix(loss=f"{event.loss:.3f}", img_s=f"{event.images_per_sec:.0f}")
        elif isinstance(event, EpochEnd | Completed | Cancelled):
            if bars.get("bar") is not None:
                bars.pop("bar").close()
            if isinstance(event, EpochEnd):
                print(epoch_line(event), file=sys.stderr)

    return show


def epoch_line(event: EpochEnd) -> str:
    return (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} "
        f"acc {event.train_acc:.3f} | test loss {event.test_loss:.4f} "
        f"acc {event.test_acc:.3f} | {event.seconds:.1f}s"
    )
