"""``python -m food_vision.train``: one training run, reported as v1 events.

The command line (or a ``--config`` file) becomes a :class:`TrainConfig`, which is handed to a
:class:`TrainingSession`. With ``--events jsonl`` only events go to standard output, one flushed
line each; everything else (logs, warnings, stray prints) goes to standard error. Without it, a
progress bar is shown on a terminal and the run records itself (``run.json``, ``events.jsonl``)
in its folder.

Exit codes: 0 completed, 1 failed (after a ``failed`` event), 3 cancelled (SIGTERM/SIGINT).
SIGUSR1 asks for stop and keep: the epoch under way ends, the test split is evaluated, the model
is saved and the run completes with ``stopped_early``.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from food_vision.config import ConfigError
from food_vision.events import Failed
from food_vision.reporting import Reporter, claim_stdout
from food_vision.runs import RunStatus, is_valid_run_id, new_run_id
from food_vision.settings import get_settings
from food_vision.train_args import (
    RunOptions,
    UsageError,
    check_options,
    load_config,
    parse_command_line,
    wants_jsonl,
)

EXIT_COMPLETED, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 3
GENERIC_ERRORS = (ValueError, RuntimeError, OSError, Exception)
log = logging.getLogger("food_vision.train")


def main(argv: Sequence[str] | None = None, prog: str = "foodvision train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    channel = claim_stdout() if wants_jsonl(argv) else None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    stop, finish = threading.Event(), threading.Event()
    install_stop_handlers(stop, finish)
    try:
        options, given = parse_command_line(argv, prog)
    except UsageError as exc:
        return fail(Reporter("unknown", channel, None), f"bad arguments: {exc}", "")
    out, run_id = run_folder(options)
    reporter = Reporter(run_id, channel, None if channel else out, on_channel_lost=stop.set)
    try:
        config = load_config(options, given)
        if not is_valid_run_id(run_id):
            raise ConfigError("run_id", f"{run_id!r} is not a valid run id")
        check_options(options)
        out.mkdir(parents=True, exist_ok=True)
        reporter.start_record(config.to_dict())
        if config.tensorboard or (config.tensorboard is None and get_settings().tensorboard):
            from food_vision.tensorboard_log import tensorboard_listener

            reporter.listen(tensorboard_listener(out, config.learning_rate))
        if channel is None and sys.stderr.isatty():
            from food_vision.terminal import terminal_progress

            reporter.listen(terminal_progress())
        # torch is imported only now: a refused command line answers at once.
        from food_vision.session import TrainingSession

        session = TrainingSession(
            config, out=out, reporter=reporter, stop=stop, options=options, finish=finish
        )
        status = session.run()
        return EXIT_COMPLETED if status is RunStatus.COMPLETED else EXIT_CANCELLED
    except Exception as exc:
        return fail(reporter, describe_error(exc), traceback.format_exc(limit=-8))


def run_folder(options: RunOptions) -> tuple[Path, str]:
    """The run's folder and id; the folder's name is the id when it can be one (the server
    names folders so)."""
    out = (options.out or get_settings().runs_dir / new_run_id()).expanduser()
    return out, options.run_id or (out.name if is_valid_run_id(out.name) else new_run_id())


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


def fail(reporter: Reporter, error: str, detail: str) -> int:
    reporter.emit(Failed(reporter.run_id, error=error, detail=detail[-4000:]))
    print(f"error: {error}", file=sys.stderr)
    return EXIT_FAILED


def install_stop_handlers(stop: threading.Event, finish: threading.Event) -> None:
    """SIGTERM and SIGINT ask the session to stop at the next batch boundary; SIGUSR1 to
    finish the epoch under way and keep the run (stop and keep)."""

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    def request_finish(signum: int, _frame: object) -> None:
        finish.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGUSR1, request_finish)


def run_and_exit() -> None:
    """Exit as soon as the final event is out: skip the interpreter's teardown of torch, which
    takes seconds, so a finished or cancelled run leaves no process behind at once."""
    code = main(prog="python -m food_vision.train")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_and_exit()
