"""``foodvision``: the core's commands (train, predict, datasets, runs) plus ``serve`` and
``worker``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backend.worker import add_command as add_worker_command
from food_vision import cli as core


def build_parser() -> argparse.ArgumentParser:
    parser, commands = core.build_parser()
    serve = commands.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default=None, help="default: FOODVISION_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: FOODVISION_PORT or 8000")
    serve.add_argument(
        "--framework",
        choices=("fastapi", "flask"),
        default=None,
        help="web layer: FastAPI on uvicorn or Flask on Gunicorn; "
        "default: FOODVISION_FRAMEWORK or fastapi",
    )
    serve.set_defaults(handler=_serve)
    add_worker_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return core.main(argv, build_parser())


def _serve(args: argparse.Namespace) -> int:
    from backend.server import serve

    return serve(host=args.host, port=args.port, framework=args.framework)


if __name__ == "__main__":
    sys.exit(main())
