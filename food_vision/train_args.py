"""The command line of ``foodvision train``: one flag per :class:`TrainConfig` field, derived
from it, plus the flags that say how to run (where to write, threads, device, event channel).

``--config FILE`` reads a config written by the server; flags given beside it override it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pydantic.fields import FieldInfo

from food_vision.config import CliFlag, ConfigError, TrainConfig, value_type

DEVICE_CHOICES = ("auto", "cpu", "cuda")


class UsageError(ValueError):
    """A command-line argument could not be parsed."""


@dataclass(frozen=True)
class RunOptions:
    """How to run, as opposed to what to train: none of it changes the trained model."""

    out: Path | None = None
    run_id: str | None = None
    config_file: Path | None = None
    jsonl: bool = False
    threads: int | None = None
    workers: int | None = None
    niceness: int = 0
    device: str = "auto"
    feature_cache: bool = True
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser(prog: str = "foodvision train") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Train an image classifier on an ImageFolder dataset.")
    training = parser.add_argument_group("what to train (each also a field of --config)")
    for name, field in TrainConfig.model_fields.items():
        _add_config_flag(training, name, field)
    running = parser.add_argument_group("how to run")
    running.add_argument("--config", type=Path, help="a JSON training config (flags override it)")
    running.add_argument("--out", type=Path, help="run folder (default: a new one in the store)")
    running.add_argument("--run-id", help="default: the run folder's name")
    running.add_argument(
        "--events", choices=("jsonl", "none"), default="none", help="jsonl: v1 events on stdout"
    )
    running.add_argument("--threads", type=int, help="torch CPU threads")
    running.add_argument("--workers", type=int, help="data loader workers")
    running.add_argument(
        "--niceness",
        type=int,
        default=0,
        help="lower this process's CPU priority by N (0-19), so a server beside it stays quick",
    )
    running.add_argument(
        "--device", choices=DEVICE_CHOICES, default="auto", help="auto: CUDA if present"
    )
    running.add_argument(
        "--feature-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compute a frozen backbone's features once (off: again every epoch, slower; the "
        "same model when training images are not augmented)",
    )
    nodes = parser.add_argument_group(
        "several machines (torchrun's options; --processes is per machine)"
    )
    nodes.add_argument("--nnodes", type=int, default=1, help="machines taking part")
    nodes.add_argument("--node-rank", type=int, default=0, help="this machine's number, from 0")
    nodes.add_argument(
        "--rdzv-endpoint", metavar="HOST:PORT", help="where machine 0 meets the others"
    )
    return parser


def parse_command_line(
    argv: list[str], prog: str = "foodvision train"
) -> tuple[RunOptions, dict[str, Any]]:
    """The run options and the config fields given as flags; raises :class:`UsageError`."""
    args = vars(build_parser(prog).parse_args(argv))
    given = {name: args.pop(name) for name in TrainConfig.model_fields if name in args}
    options = RunOptions(
        out=args["out"],
        run_id=args["run_id"],
        config_file=args["config"],
        jsonl=args["events"] == "jsonl",
        threads=args["threads"],
        workers=args["workers"],
        niceness=args["niceness"],
        device=args["device"],
        feature_cache=args["feature_cache"],
        nnodes=args["nnodes"],
        node_rank=args["node_rank"],
        rdzv_endpoint=args["rdzv_endpoint"],
    )
    return options, given


def load_config(options: RunOptions, given: dict[str, Any]) -> TrainConfig:
    """The config file's fields overridden by the flags, validated and with defaults resolved;
    a continued run's filled in from its parent."""
    data = read_config_file(options.config_file) if options.config_file else {}
    config = TrainConfig.parse({**data, **given})
    if config.parent is not None:  # reads the parent's files (and imports torch): only then
        from food_vision.lineage import continue_config, open_parent
        from food_vision.settings import get_settings

        config = continue_config(config, open_parent(config.parent, get_settings().runs_dir))
    return config.resolved()


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("config", f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path} must hold a JSON object")
    return data


def check_options(options: RunOptions) -> None:
    if options.threads is not None and options.threads < 1:
        raise ConfigError("threads", "must be 1 or more")
    if options.workers is not None and options.workers < 0:
        raise ConfigError("workers", "must be 0 or more")
    if not 0 <= options.niceness <= 19:
        raise ConfigError("niceness", "must be between 0 and 19")
    check_nodes(options)


def check_nodes(options: RunOptions) -> None:
    """The multi-machine flags make sense together: all of them, or none."""
    if options.nnodes < 1:
        raise ConfigError("nnodes", "must be 1 or more")
    if options.nnodes == 1:
        if options.node_rank or options.rdzv_endpoint:
            raise ConfigError(
                "nnodes", "--node-rank and --rdzv-endpoint are for several machines: give --nnodes"
            )
        return
    if not 0 <= options.node_rank < options.nnodes:
        raise ConfigError("node_rank", f"must be from 0 to {options.nnodes - 1}")
    host, _, port = (options.rdzv_endpoint or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            "rdzv_endpoint", "--nnodes above 1 needs --rdzv-endpoint HOST:PORT (machine 0's)"
        )


def wants_jsonl(argv: list[str]) -> bool:
    """Whether events go to stdout; known before parsing, so a parse error is an event too."""
    for index, arg in enumerate(argv):
        if arg == "--events=jsonl" or (
            arg == "--events" and argv[index + 1 : index + 2] == ["jsonl"]
        ):
            return True
    return False


def _add_config_flag(group: argparse._ArgumentGroup, name: str, field: FieldInfo) -> None:
    flags = [f"--{name.replace('_', '-')}"]
    for item in field.metadata:
        if isinstance(item, CliFlag):
            flags.extend(item.flags)
    help_text = str(field.description)
    if field.default is not None:
        help_text += f" (default: {field.default})"
    kind = value_type(field)
    if kind is bool:
        group.add_argument(
            *flags,
            dest=name,
            action=argparse.BooleanOptionalAction,
            default=argparse.SUPPRESS,
            help=help_text,
        )
    else:
        group.add_argument(
            *flags,
            dest=name,
            type=kind,
            default=argparse.SUPPRESS,
            metavar=name.upper(),
            help=help_text,
        )
