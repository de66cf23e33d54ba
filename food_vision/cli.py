"""The core commands of ``foodvision``: train, predict, and list datasets and runs.

The web side adds ``serve`` to the same parser (``backend.cli``); nothing here imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from food_vision.datasets.manifest import (
    DEFAULT_TEST_FRACTION,
    MAX_TEST_FRACTION,
    MIN_TEST_FRACTION,
    read_manifest,
)
from food_vision.runs import is_valid_run_id, list_runs
from food_vision.settings import get_settings

if TYPE_CHECKING:
    from food_vision.datasets.registry import DatasetEntry

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command; ``parser`` may carry more commands than the core's own."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from food_vision.train import main as train_main

        return train_main(argv[1:])
    parser = parser or build_parser()[0]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line (sub-commands inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see: {self.prog} --help)\n")


def build_parser() -> tuple[
    argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]
]:
    """The parser and its sub-command registry, to which the web side adds ``serve``."""
    parser: argparse.ArgumentParser = _Parser(
        prog="foodvision",
        description="Train image classifiers from a browser, watch them learn, use them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "train", help="train one model (see: foodvision train --help)", add_help=False
    )
    predict = commands.add_parser("predict", help="top-k classes for images")
    predict.add_argument("--model", required=True, help="run id or run folder")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict.set_defaults(handler=_predict)
    datasets = commands.add_parser("datasets", help="list, check and import datasets")
    action = datasets.add_mutually_exclusive_group()
    action.add_argument(
        "--prepare", metavar="NAME", help="generate or download a named dataset first"
    )
    action.add_argument(
        "--check",
        metavar="DIR",
        type=Path,
        help="report what importing DIR would do, file by "
        "file; exit 1 when it could not be trained on",
    )
    action.add_argument(
        "--import",
        dest="import_from",
        metavar="ZIP_OR_DIR",
        type=Path,
        help="add the photos of a zip or folder to the managed dataset --name (made if new)",
    )
    datasets.add_argument("--name", help="the managed dataset that --import fills")
    datasets.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help=f"share of photos kept for testing ({MIN_TEST_FRACTION}-{MAX_TEST_FRACTION}; "
        f"default {DEFAULT_TEST_FRACTION}): for --check, and for a dataset --import makes",
    )
    datasets.set_defaults(handler=_datasets)
    export = commands.add_parser("export", help="a run's model as a verified ONNX zip")
    export.add_argument("model", metavar="RUN_ID_OR_DIR", help="run id or run folder")
    export.add_argument("--format", choices=("onnx",), default="onnx")
    export.add_argument("--out", type=Path, help="zip to write (default: <run>-onnx.zip here)")
    export.set_defaults(handler=_export)
    runs = commands.add_parser("runs", help="list training runs")
    runs.set_defaults(handler=_runs)
    return parser, commands


def _predict(args: argparse.Namespace) -> int:
    if not 1 <= args.top_k <= 100:
        return _error("--top-k must be between 1 and 100")
    folder = resolve_model_folder(args.model)
    if folder is None:
        return _error(f"no model {args.model!r}: give a run id from 'foodvision runs' or a folder")
    # torch is imported only once the arguments are known to be usable: bad input answers fast.
    from food_vision.bundle import BundleError
    from food_vision.images import ImageRejected, open_image
    from food_vision.predict import Predictor

    try:
        predictor = Predictor.from_bundle(folder, get_settings().inference_engine)
    except BundleError as exc:
        return _error(str(exc))
    status = 0
    max_pixels = get_settings().max_image_pixels
    for path in args.images:
        try:
            image = open_image(path, max_pixels=max_pixels, min_side=predictor.meta.input_size)
        except FileNotFoundError:
            status = _error(f"{path}: no such file")
            continue
        except OSError as exc:
            status = _error(f"{path}: cannot be read ({exc.strerror})")
            continue
        except ImageRejected as exc:
            status = _error(f"{path}: {exc}")
            continue
        (predictions,) = predictor.predict([image], top_k=args.top_k)
        print(path)
        for prediction in predictions:
            print(f"  {prediction.label:<20} {prediction.probability:7.2%}")
    return status


def resolve_model_folder(model: str) -> Path | None:
    """A run id in the run store, or a folder path holding a bundle."""
    runs_dir = get_settings().runs_dir
    if is_valid_run_id(model) and (runs_dir / model).is_dir():
        return runs_dir / model
    folder = Path(model).expanduser()
    return folder if folder.is_dir() else None


def _export(args: argparse.Namespace) -> int:
    folder = resolve_model_folder(args.model)
    if folder is None:
        return _error(f"no model {args.model!r}: give a run id from 'foodvision runs' or a folder")
    from food_vision.atomic import atomic_write_bytes
    from food_vision.bundle import BundleError
    from food_vision.export_bundle import build_onnx_zip, cached_onnx_zip, read_verification
    from food_vision.onnx_export import ExportError

    try:
        built = cached_onnx_zip(folder) or build_onnx_zip(folder, get_settings().resolved_data_dir)
        out = args.out or Path(f"{folder.name}-{args.format}.zip")
        atomic_write_bytes(out, built.read_bytes())
    except (BundleError, ExportError, OSError) as exc:
        return _error(str(exc))
    check = read_verification(folder) or {}
    print(
        f"{out}: verified on {check.get('source')}: top-1 agreement "
        f"{check.get('top1_agreement', 0):.0%}, largest logit difference "
        f"{check.get('max_abs_logit_difference', 0):.2g}"
    )
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from food_vision.datasets import commands
    from food_vision.datasets.registry import list_datasets, resolve_dataset

    if args.name is not None and args.import_from is None:
        return _error("--name goes with --import ZIP_OR_DIR")
    if args.check is not None or args.import_from is not None:
        return commands.run(args, get_settings())
    data_dir = get_settings().resolved_data_dir
    if args.prepare:
        try:
            resolve_dataset(args.prepare, data_dir, progress=sys.stderr.isatty())
        except (ValueError, RuntimeError, OSError) as exc:
            return _error(str(exc))
    for entry in list_datasets(data_dir):
        print(f"{entry.name:<24} {_state(entry):<15} {entry.title}")
    return 0


def _state(entry: DatasetEntry) -> str:
    if entry.kind == "managed":
        return "not ready" if read_manifest(entry.path).problems() else "ready"
    if entry.available:
        return "ready"
    return "not generated" if entry.kind == "generated" else "not downloaded"


def _runs(args: argparse.Namespace) -> int:
    runs_dir = get_settings().runs_dir
    records = list_runs(runs_dir)
    if not records:
        print(f"no runs in {runs_dir}")
    for record in records:
        acc = record.metrics.get("test_acc")
        acc_text = f"test acc {acc:.3f}" if isinstance(acc, float) else ""
        arch = record.config.get("architecture", "?")
        dataset = record.config.get("dataset", "?")
        print(f"{record.id}  {record.status.value:<11} {arch:<20} {dataset:<20} {acc_text}")
    return 0


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
