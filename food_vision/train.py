"""``python -m food_vision.train``: one training run, reported as v1 events.

The command line (or a ``--config`` file) becomes a :class:`TrainConfig`, which is handed to a
:class:`TrainingSession`. With ``--events jsonl`` only events go to standard output, one flushed
line each; everything else (logs, warnings, stray prints) goes to standard error. Without it, a
progress bar is shown on a terminal and the run records itself (``run.json``, ``events.jsonl``)
in its folder.

Exit codes: 0 completed, 1 failed (after a ``failed`` event), 3 cancelled (SIGTERM/SIGINT).
SIGUSR1 asks for stop and keep: the epoch under way ends, the test split is evaluated, the model
is saved and the run completes with ``stopped_early``.

With ``processes`` above 1 (or ``--nnodes`` above 1) this process launches the ranks under
torchrun (:mod:`food_vision.launch`) and each rank runs this same entry point: the leader
(rank 0) reports and writes as a lone trainer does, the others write nothing to stdout.
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

from food_vision.config import ConfigError, TrainConfig
from food_vision.events import Failed
from food_vision.launch import (
    EXIT_CANCELLED,
    EXIT_COMPLETED,
    EXIT_FAILED,
    EXIT_PEER_LOST,
    check_processes,
    is_data_parallel,
    launch,
    rank_of_this_process,
    signal_children,
    under_torchrun,
)
from food_vision.process_group import die_with_parent
from food_vision.reporting import Reporter, claim_stdout, silence_stdout
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

GENERIC_ERRORS = (ValueError, RuntimeError, OSError, Exception)
log = logging.getLogger("food_vision.train")


def main(argv: Sequence[str] | None = None, prog: str = "foodvision train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    leader = rank_of_this_process() == 0
    if not leader:
        die_with_parent()  # torchrun starts each rank in its own session
        silence_stdout()
    channel = claim_stdout() if leader and wants_jsonl(argv) else None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    stop, finish = threading.Event(), threading.Event()
    install_stop_handlers(stop, finish)
    try:
        options, given = parse_command_line(argv, prog)
    except UsageError as exc:
        return fail(Reporter("unknown", channel, None), f"bad arguments: {exc}", "")
    out, run_id = run_folder(options)
    record_in = None if channel or not leader else out
    reporter = Reporter(run_id, channel, record_in, on_channel_lost=stop.set)
    try:
        config = load_config(options, given)
        if not is_valid_run_id(run_id):
            raise ConfigError("run_id", f"{run_id!r} is not a valid run id")
        check_options(options)
        if is_data_parallel(config.processes, options) and not under_torchrun():
            check_processes(config.processes, options.device)
            argv += ["--out", str(out), "--run-id", run_id]  # every rank's, chosen once here
            return launch_ranks(config, options, argv, reporter)
        return train_here(config, options, out, reporter, stop, finish)
    except Exception as exc:
        if under_torchrun():
            return rank_failed(exc, reporter)
        return fail(reporter, describe_error(exc), traceback.format_exc(limit=-8))


def rank_failed(exc: Exception, reporter: Reporter) -> int:
    """A rank's error: reported by the leader, unless it only follows another process's end
    (a collective cut off), which the launcher reports; the other ranks just log it."""
    from food_vision.distributed import LeaderFailed, is_peer_lost

    if isinstance(exc, LeaderFailed) or is_peer_lost(exc):
        log.info("stopping: %s", describe_error(exc))
        return EXIT_PEER_LOST
    if rank_of_this_process() == 0:
        return fail(reporter, describe_error(exc), traceback.format_exc(limit=-8))
    log.error("%s\n%s", describe_error(exc), traceback.format_exc(limit=-8))
    return EXIT_FAILED


def train_here(
    config: TrainConfig,
    options: RunOptions,
    out: Path,
    reporter: Reporter,
    stop: threading.Event,
    finish: threading.Event,
) -> int:
    """The run in this process: alone, or as one rank of a data-parallel run, where the
    leader alone reports and writes the run's files."""
    if reporter.out is not None:
        out.mkdir(parents=True, exist_ok=True)
        reporter.start_record(config.to_dict())
        if config.tensorboard or (config.tensorboard is None and get_settings().tensorboard):
            from food_vision.tensorboard_log import tensorboard_listener

            reporter.listen(tensorboard_listener(out, config.learning_rate))
        if sys.stderr.isatty():
            from food_vision.terminal import terminal_progress

            reporter.listen(terminal_progress())
    # torch is imported only now: a refused command line answers at once.
    from food_vision.distributed import join_group
    from food_vision.session import TrainingSession

    group = join_group(options.device)
    session = TrainingSession(
        config, out=out, reporter=reporter, stop=stop, options=options, group=group, finish=finish
    )
    status = session.run()
    group.close()
    if status is RunStatus.COMPLETED or not group.leader:  # its part ended as asked
        return EXIT_COMPLETED
    return EXIT_CANCELLED


def launch_ranks(
    config: TrainConfig, options: RunOptions, trainer_argv: list[str], reporter: Reporter
) -> int:
    """Hand the run to torchrun's ranks, which inherit this stdout: with ``--events jsonl``
    the event channel. A rank lost without a word is reported here."""
    # A stop asked before torchrun takes the signals over (to pass them on to the ranks) ends
    # this process at once: no rank has started yet. Stop and keep is passed on here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: signal_children(signal.SIGUSR1))
    if reporter.channel is not None:
        os.dup2(reporter.channel.fileno(), 1)

    def report_failure(error: str, detail: str) -> None:
        reporter.resume_record(config.to_dict())
        fail(reporter, error, detail)

    return launch(config.processes, options, trainer_argv, report_failure)


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
