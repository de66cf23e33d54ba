"""What a person sees of a run started by hand on a terminal: a progress bar and epoch lines."""

from __future__ import annotations

import math
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
            print(started_line(event), file=sys.stderr)
            for note in event.notes:
                print(note, file=sys.stderr)
        elif isinstance(event, Progress):
            bar = bars.get("bar")
            desc = progress_title(event)
            if bar is None or bar.desc != desc:
                if bar is not None:
                    bar.close()
                bar = bars["bar"] = tqdm(total=event.steps, desc=desc, leave=False)
            bar.n = event.step
            bar.set_postfix(loss=f"{event.loss:.3f}", img_s=f"{event.images_per_sec:.0f}")
        elif isinstance(event, EpochEnd | Completed | Cancelled):
            if bars.get("bar") is not None:
                bars.pop("bar").close()
            if isinstance(event, EpochEnd):
                print(epoch_line(event), file=sys.stderr)
            elif isinstance(event, Completed):
                print(completed_line(event), file=sys.stderr)

    return show


def started_line(event: Started) -> str:
    held_out = f", {event.num_validation} validation" if event.num_validation else ""
    return f"training on {event.num_train} images{held_out}, {event.num_test} test, {event.classes}"


def progress_title(event: Progress) -> str:
    if event.phase == "features":
        return "extracting features"
    return f"epoch {event.epoch}" + (" (evaluating)" if event.phase == "eval" else "")


def epoch_line(event: EpochEnd) -> str:
    line = (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} "
        f"acc {event.train_acc:.3f}"
    )
    if not math.isnan(event.validation_acc):
        line += f" | validation loss {event.validation_loss:.4f} acc {event.validation_acc:.3f}"
    return f"{line} | {event.seconds:.1f}s"


def completed_line(event: Completed) -> str:
    test = event.metrics.get("test_acc")
    kept = f"the model of epoch {event.best_epoch}" if event.best_epoch else "the model"
    figure = f": test accuracy {test:.3f}" if isinstance(test, float) else ""
    return f"kept {kept}{figure}"
