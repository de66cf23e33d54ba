"""Short sentences for screen readers about the live run, one per milestone (started, each
epoch, the end), sent into one persistent live region: re-rendering the panel at every step
would announce either nothing useful or everything."""

from __future__ import annotations

from backend.services.run_view import RunView
from backend.web.public_text import public_text
from food_vision.events import Cancelled, Completed, EpochEnd, Event, Failed, Started


def announcement(view: RunView, event: Event | None) -> str | None:
    """What to say after ``event``, or None for an event not worth interrupting for."""
    config = view.record.config
    if isinstance(event, Started):
        return (
            f"Run started: {config.get('architecture')} on {config.get('dataset')}, "
            f"{view.total_epochs} epochs."
        )
    if isinstance(event, EpochEnd):
        split = view.held_out
        accuracy = getattr(event, f"{split}_acc") if split else event.train_acc
        return (
            f"Epoch {event.epoch} of {view.total_epochs} done: "
            f"{split or 'training'} accuracy {accuracy * 100:.0f}%."
        )
    if isinstance(event, Completed):
        accuracy = view.record.metrics.get("test_acc")
        score = f": test accuracy {accuracy * 100:.0f}%" if accuracy is not None else ""
        return f"Run completed{score}."
    if isinstance(event, Cancelled):
        kept = "its best finished epoch was kept" if event.has_model else "no model was kept"
        return f"Run cancelled: {kept}."
    if isinstance(event, Failed):
        return f"Run failed: {public_text(event.error)}"
    return None
