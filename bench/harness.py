"""What every benchmark script does around its measurement: flags, SIGTERM as a clean exit,
progress lines on stderr, the printed table and the JSON rows that run_all.py reads."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.table import Row, print_table


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (about 1 min)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument(
        "--photos",
        type=Path,
        default=None,
        help="a folder of real photos to make the uploads from (default: the generated demo)",
    )
    args = parser.parse_args()
    if args.photos is not None and not args.photos.is_dir():
        parser.error(f"--photos {args.photos}: not a folder")
    return args


def bench_main(description: str, run: Callable[[argparse.Namespace], list[Row]]) -> int:
    """Parse the flags, run with SIGTERM turned into a clean exit, print and save the rows."""
    args = parse_args(description)
    signal.signal(signal.SIGTERM, exit_on_signal)
    started = time.monotonic()
    rows = run(args)
    print_table(rows, f"{description} ({time.monotonic() - started:.0f} s)")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows]), encoding="utf-8")
    return 0


def exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
