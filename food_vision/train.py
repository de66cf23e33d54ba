"""``python -m food_vision.train``: one training run, reported as v1 events.

With ``--events jsonl`` only events go to standard output, one flushed line each; everything
else (logs, warnings, stray prints) goes to standard error. Without it, a progress bar is shown
on a terminal and the run records itself (``run.json``, ``events.jsonl``) in its folder.

Exit codes: 0 completed, 1 failed (after a ``failed`` event), 3 cancelled (SIGTERM/SIGINT).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from food_vision import paths
from food_vision.config import ConfigError, TrainConfig
from food_vision.events import Cancelled, Completed, EpochEnd, Event, Failed, Progress, Started
from food_vision.models import ARCHITECTURES, DEFAULT_ARCHITECTURE
from food_vision.runs import (
    EVENTS_FILE,
    RunRecord,
    RunStatus,
    apply_event,
    is_valid_run_id,
    new_run_id,
    write_run,
)

EXIT_COMPLETED, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 3
PROGRESS_INTERVAL_SECONDS = 0.25
GENERIC_ERRORS = (ValueError, RuntimeError, OSError, Exception)
log = logging.getLogger("food_vision.train")


class UsageError(ValueError):
    """A command-line argument could not be parsed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser(prog: str = "foodvision train") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Train an image classifier on an ImageFolder dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", default="demo", help="dataset name or folder")
    parser.add_argument(
        "--model",
        default=DEFAULT_ARCHITECTURE,
        help=f"architecture: {', '.join(ARCHITECTURES)}",
    )
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step")
    parser.add_argument("--image-size", type=int, default=None, help="default: the model's")
    parser.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start from ImageNet weights (default: when they need no download)",
    )
    parser.add_argument("--seed", type=int, default=0, help="for shuffling and initialisation")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: a new one)")
    parser.add_argument("--run-id", default=None, help="default: the run folder's name")
    parser.add_argument(
        "--events", choices=("jsonl", "none"), default="none", help="jsonl: v1 events on stdout"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--workers", type=int, default=None, help="data loader workers")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA if present"
    )
    parser.add_argument("--dry-run", action="store_true", help="one batch per epoch")
    return parser


class Reporter:
    """Writes each event to the event channel and, when standalone, to the run's own files."""

    def __init__(
        self,
        run_id: str,
        channel: TextIO | None,
        out: Path | None,
        on_channel_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.run_id = run_id
        self.channel = channel
        self.out = out
        self.on_channel_lost = on_channel_lost
        self.record: RunRecord | None = None
        self._last_progress = 0.0
        self._listeners: list[Callable[[Event], None]] = []

    def start_record(self, config: dict[str, Any]) -> None:
        if self.out is not None:
            self.record = RunRecord(self.run_id, RunStatus.RUNNING, config, pid=os.getpid())
            write_run(self.out, self.record)

    def listen(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        line = event.encode() + "\n"
        if self.channel is not None:
            try:
                self.channel.write(line)
                self.channel.flush()
            except BrokenPipeError:
                # Nobody reads the events any more (the server is gone): stop, don't train blind.
                self.channel = None
                self.on_channel_lost()
        if self.out is not None and self.record is not None:
            # Only once the run folder exists: a config refused before that leaves no folder.
            with open(self.out / EVENTS_FILE, "a", encoding="utf-8") as handle:
                handle.write(line)
            self.record = apply_event(self.record, event)
            write_run(self.out, self.record)
        for listener in self._listeners:
            listener(event)

    def progress(self, event: Progress) -> None:
        """Progress is throttled to a few events a second."""
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
            self._last_progress = now
            self.emit(event)


def main(argv: Sequence[str] | None = None, prog: str = "foodvision train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    jsonl = _wants_jsonl(argv)
    channel = _claim_stdout() if jsonl else None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    stop = threading.Event()
    _install_stop_handlers(stop)
    try:
        args = build_parser(prog).parse_args(argv)
    except UsageError as exc:
        return _fail(Reporter("unknown", channel, None), f"bad arguments: {exc}", "")
    out = (args.out or paths.runs_dir() / new_run_id()).expanduser()
    # The folder's name is the run id when it can be one (the server names folders so).
    run_id = args.run_id or (out.name if is_valid_run_id(out.name) else new_run_id())
    standalone = not jsonl
    reporter = Reporter(run_id, channel, out if standalone else None, on_channel_lost=stop.set)
    try:
        config = TrainConfig(
            dataset=args.dataset,
            architecture=args.model,
            epochs=args.epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            pretrained=args.pretrained,
            image_size=args.image_size,
            seed=args.seed,
            dry_run=args.dry_run,
        ).validated()
        if not is_valid_run_id(run_id):
            raise ConfigError("run_id", f"{run_id!r} is not a valid run id")
        _check_positive("threads", args.threads)
        if args.workers is not None and args.workers < 0:
            raise ConfigError("workers", "must be 0 or more")
        out.mkdir(parents=True, exist_ok=True)
        reporter.start_record(config.to_dict())
        if standalone and sys.stderr.isatty():
            reporter.listen(_terminal_progress())
        from food_vision.session import TrainingSession

        session = TrainingSession(
            config,
            out=out,
            reporter=reporter,
            stop=stop,
            threads=args.threads,
            workers=args.workers,
            device_name=args.device,
        )
        status = session.run()
        return EXIT_COMPLETED if status is RunStatus.COMPLETED else EXIT_CANCELLED
    except Exception as exc:
        return _fail(reporter, describe_error(exc), traceback.format_exc(limit=-8))


def _check_positive(field: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(field, "must be 1 or more")


def describe_error(exc: BaseException) -> str:
    """One line a person understands, for the ``failed`` event.

    Our own errors (bad config, dataset, weights, download) already read well; anything else is
    named as a crash with its type.
    """
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return "out of memory: try a smaller batch size or image size"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"disk full while writing {exc.filename or 'the run'}: {exc.strerror}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if type(exc) in GENERIC_ERRORS or not isinstance(exc, ValueError | RuntimeError | OSError):
        text = f"trainer crashed: {type(exc).__name__}: {text}"
    return text[:300]


def _fail(reporter: Reporter, error: str, detail: str) -> int:
    reporter.emit(Failed(reporter.run_id, error=error, detail=detail[-4000:]))
    print(f"error: {error}", file=sys.stderr)
    return EXIT_FAILED


def _wants_jsonl(argv: list[str]) -> bool:
    for index, arg in enumerate(argv):
        if arg == "--events=jsonl" or (
            arg == "--events" and argv[index + 1 : index + 2] == ["jsonl"]
        ):
            return True
    return False


def _claim_stdout() -> TextIO:
    """Keep the real stdout for events only; route everything else printed to stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _install_stop_handlers(stop: threading.Event) -> None:
    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _terminal_progress() -> Callable[[Event], None]:
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
                print(
                    f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} "
                    f"acc {event.train_acc:.3f} | test loss {event.test_loss:.4f} "
                    f"acc {event.test_acc:.3f} | {event.seconds:.1f}s",
                    file=sys.stderr,
                )

    return show


def run_and_exit() -> None:
    """Exit as soon as the final event is out: skip the interpreter's teardown of torch, which
    takes seconds, so a finished or cancelled run leaves no process behind at once."""
    code = main(prog="python -m food_vision.train")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_and_exit()
