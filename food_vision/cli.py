"""``foodvision``: serve the app, train, predict, and list datasets and runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from food_vision import paths
from food_vision.runs import is_valid_run_id, list_runs

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from food_vision.train import main as train_main

        return train_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return args.handler(args)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line (sub-commands inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="foodvision",
        description="Train image classifiers from a browser, watch them learn, use them.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default=None, help="default: FOODVISION_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: FOODVISION_PORT or 8000")
    serve.set_defaults(handler=_serve)
    commands.add_parser(
        "train", help="train one model (see: foodvision train --help)", add_help=False
    )
    predict = commands.add_parser("predict", help="top-k classes for images")
    predict.add_argument("--model", required=True, help="run id or run folder")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict.set_defaults(handler=_predict)
    datasets = commands.add_parser("datasets", help="list datasets")
    datasets.add_argument(
        "--prepare", metavar="NAME", help="generate or download a named dataset first"
    )
    datasets.set_defaults(handler=_datasets)
    runs = commands.add_parser("runs", help="list training runs")
    runs.set_defaults(handler=_runs)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from backend.server import serve

    return serve(host=args.host, port=args.port)


def _predict(args: argparse.Namespace) -> int:
    if not 1 <= args.top_k <= 100:
        return _error("--top-k must be between 1 and 100")
    folder = resolve_model_folder(args.model)
    if folder is None:
        return _error(f"no model {args.model!r}: give a run id from 'foodvision runs' or a folder")
    # torch is imported only once the arguments are known to be usable: bad input answers fast.
    from PIL import Image

    from food_vision.bundle import BundleError
    from food_vision.images import open_image
    from food_vision.predict import Predictor

    try:
        predictor = Predictor.from_bundle(folder)
    except BundleError as exc:
        return _error(str(exc))
    status = 0
    for path in args.images:
        try:
            image = open_image(path)
        except FileNotFoundError:
            status = _error(f"{path}: no such file")
            continue
        except (OSError, Image.DecompressionBombError) as exc:
            status = _error(f"{path}: cannot decode image ({exc})")
            continue
        (predictions,) = predictor.predict([image], top_k=args.top_k)
        print(path)
        for prediction in predictions:
            print(f"  {prediction.label:<20} {prediction.probability:7.2%}")
    return status


def resolve_model_folder(model: str) -> Path | None:
    """A run id in the run store, or a folder path holding a bundle."""
    if is_valid_run_id(model) and (paths.runs_dir() / model).is_dir():
        return paths.runs_dir() / model
    folder = Path(model).expanduser()
    return folder if folder.is_dir() else None


def _datasets(args: argparse.Namespace) -> int:
    from food_vision.datasets.registry import list_datasets, resolve_dataset

    if args.prepare:
        try:
            resolve_dataset(args.prepare, paths.data_dir(), progress=sys.stderr.isatty())
        except (ValueError, RuntimeError, OSError) as exc:
            return _error(str(exc))
    for entry in list_datasets(paths.data_dir()):
        missing = "not generated" if entry.kind == "generated" else "not downloaded"
        state = "ready" if entry.available else missing
        print(f"{entry.name:<24} {state:<15} {entry.title}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    records = list_runs(paths.runs_dir())
    if not records:
        print(f"no runs in {paths.runs_dir()}")
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
