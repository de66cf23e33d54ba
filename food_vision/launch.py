"""Starting a data-parallel run: the same trainer in several processes, under PyTorch's own
launcher, torchrun (``torch.distributed.run``), run here in the launching process.

Running torchrun in-process gives its failure report as objects: when a process dies, the run
fails with a message naming its rank, how it ended and its last log line (each rank's standard
error is teed into a temporary log folder for this). The ranks' standard output is this
process's, so the leader's events reach the reader as a one-process run's do; the others
write nothing there. A rank that failed only because another one vanished (a collective cut
off) exits with ``EXIT_PEER_LOST`` and is not the one reported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from food_vision.config import ConfigError
from food_vision.train_args import RunOptions

EXIT_COMPLETED, EXIT_FAILED, EXIT_CANCELLED, EXIT_PEER_LOST = 0, 1, 3, 4
REPORTED = (EXIT_FAILED, EXIT_CANCELLED)  # the leader's exits after its own final event


def under_torchrun() -> bool:
    """Whether this process is one rank of a torchrun launch (torchrun sets these)."""
    return "TORCHELASTIC_RUN_ID" in os.environ and "LOCAL_RANK" in os.environ


def rank_of_this_process() -> int:
    """This process's rank in a torchrun launch, 0 outside one: known before any set-up."""
    return int(os.environ.get("RANK", "0")) if under_torchrun() else 0


def machine_processes(device: str = "auto") -> int:
    """How many training processes this machine runs side by side: one per GPU on CUDA,
    else one per CPU core of the machine (a process pinned to fewer may still start more)."""
    if device != "cpu":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.device_count()
    return os.cpu_count() or 1


def check_processes(processes: int, device: str = "auto") -> None:
    """Refuse more processes than this machine can run (:class:`ConfigError` on ``processes``)."""
    if processes > 1 and processes > (most := machine_processes(device)):
        unit = "GPU" if device != "cpu" and _has_cuda() else "CPU core"
        raise ConfigError(
            "processes",
            f"this machine can run at most {most} training process{'es' * (most > 1)} "
            f"(one per {unit}); ask for {most} or fewer",
        )


def is_data_parallel(processes: int, options: RunOptions) -> bool:
    return processes > 1 or options.nnodes > 1


def torchrun_args(
    processes: int, options: RunOptions, log_dir: Path, trainer_argv: list[str]
) -> list[str]:
    """torchrun's command line: one machine (``--standalone``), or this one among
    ``--nnodes`` meeting at ``--rdzv-endpoint``; each rank runs ``food_vision.train``."""
    if options.nnodes > 1:
        where = ["--nnodes", str(options.nnodes), "--node-rank", str(options.node_rank)]
        where += ["--rdzv-endpoint", str(options.rdzv_endpoint)]
    else:
        where = ["--standalone"]
    return [
        *where,
        "--nproc-per-node", str(processes),
        "--log-dir", str(log_dir),
        "--tee", "2",  # each rank's stderr to its log file and on to ours, prefixed
        "-m", "food_vision.train",
        *trainer_argv,
    ]  # fmt: skip


def launch(
    processes: int,
    options: RunOptions,
    trainer_argv: list[str],
    report_failure: Callable[[str, str], None],
) -> int:
    """Run the ranks to their end; the exit code of the run (the leader's, or failed when
    another rank failed first, reported through ``report_failure(error, detail)``)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    log_dir = Path(tempfile.mkdtemp(prefix="foodvision-ranks-"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # each rank sets its share of the threads
    args = get_args_parser().parse_args(torchrun_args(processes, options, log_dir, trainer_argv))
    try:
        run(args)  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        return EXIT_COMPLETED
    except SignalException:
        return EXIT_CANCELLED  # the ranks were stopped with the same signal; the leader reported
    except ChildFailedError as exc:
        leader = exc.failures.get(0)
        if leader is not None and leader.exitcode in REPORTED:
            return leader.exitcode
        ends = {rank: (end.local_rank, end.exitcode) for rank, end in exc.failures.items()}
        report_failure(describe_failure(ends, log_dir), str(exc)[-4000:])
        return EXIT_FAILED
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


def signal_children(signum: int) -> None:
    """Send ``signum`` to this process's children: the ranks torchrun started here, each in
    its own session (torchrun passes on only the signals that end a run)."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if fields[1] == me:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signum)


def describe_failure(ends: Mapping[int, tuple[int, int]], log_dir: Path) -> str:
    """One line about the rank that failed first of its own accord (not cut off by another's
    end): how it ended and its last log line. ``ends`` maps each failed rank to its local rank
    and exit code (negative: the signal that killed it)."""
    consequences = (EXIT_PEER_LOST, -signal.SIGTERM)
    causes = [rank for rank, (_, code) in ends.items() if code not in consequences]
    rank = min(causes or ends)
    local_rank, code = ends[rank]
    how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
    line = last_log_line(log_dir, local_rank)
    return (f"training process {rank} {how}" + (f"; its last log line: {line}" if line else ""))[
        :300
    ]


def last_log_line(log_dir: Path, local_rank: int) -> str:
    """The last non-empty line a rank wrote to its standard error (torchrun's tee file)."""
    lines: list[str] = []
    for path in sorted(log_dir.glob(f"*/attempt_*/{local_rank}/stderr.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        lines += [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())
