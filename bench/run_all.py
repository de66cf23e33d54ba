"""Run every benchmark and print one table: metric | ours | baseline | ratio.

    python bench/run_all.py            # about 10 minutes on a busy 2-core machine
    python bench/run_all.py --quick    # about 4 minutes

Each benchmark runs as its own subprocess (its own session, a time limit, SIGTERM then SIGKILL
on overrun) and hands its rows back as JSON; ``bench_training.py`` is run the same way and its
ratio lines are read from its output unless it offers ``--json`` too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import exit_on_signal
from bench.table import Row, print_table
from food_vision.process_group import signal_group

BENCH = Path(__file__).resolve().parent
OURS = {
    "live": "bench_live.py",
    "predict": "bench_predict.py",
    "pages": "bench_pages.py",
    "lifecycle": "bench_lifecycle.py",
    "export": "bench_export.py",
    "datasets": "bench_datasets.py",
    "data-parallel": "bench_data_parallel.py",
    "frameworks": "bench_frameworks.py",
}
TRAINING = "bench_training.py"
LIMIT_SECONDS = {False: 420, True: 180}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument(
        "--only", action="append", choices=[*OURS, "training"], help="run only these (repeat)"
    )
    parser.add_argument(
        "--photos", type=Path, default=None, help="real photos for the uploads (bench_predict)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, exit_on_signal)
    chosen = args.only or [*OURS, "training"]
    limit = LIMIT_SECONDS[args.quick]
    flags = ["--quick"] if args.quick else []
    photos = ["--photos", str(args.photos)] if args.photos else []
    rows: list[Row] = []
    started = time.monotonic()
    for name in chosen:
        if name == "training":
            rows += training_rows(flags, limit)
        else:
            rows += our_rows(name, [*flags, *photos], limit)
    mode = "quick" if args.quick else "full"
    title = f"FoodVision benchmarks ({mode}, {time.monotonic() - started:.0f} s)"
    print_table(rows, title)
    return 0


def our_rows(name: str, flags: list[str], limit: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="fv-bench-") as tmp:
        out = Path(tmp) / "rows.json"
        code, _ = run_script(BENCH / OURS[name], [*flags, "--json", str(out)], limit)
        if code != 0 or not out.exists():
            return [Row(f"[{name}] benchmark failed", f"exit {code}", "-", "-")]
        return [Row(**{**row, "metric": f"[{name}] {row['metric']}"}) for row in load(out)]


def training_rows(flags: list[str], limit: float) -> list[Row]:
    script = BENCH / TRAINING
    if not script.exists():
        print(f"note: {TRAINING} is missing; skipped", file=sys.stderr)
        return [Row.skipped(f"[training] {TRAINING}", "script missing")]
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    with tempfile.TemporaryDirectory(prefix="fv-bench-") as tmp:
        out = Path(tmp) / "rows.json"
        wants_json = "--json" in help_text
        extra = ["--json", str(out)] if wants_json else []
        code, output = run_script(script, [*flags, *extra], limit, capture=True)
        if code != 0:
            return [Row("[training] benchmark failed", f"exit {code}", "-", "-")]
        if wants_json and out.exists():
            return [Row(**{**row, "metric": f"[training] {row['metric']}"}) for row in load(out)]
    return parse_training(output)


def load(path: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return rows


NUMBER = r"(\d+(?:\.\d+)?)"
VARIANT = re.compile(
    rf"^\s+(.+?)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$"
)
SPEED = re.compile(rf"^\s*(.+?):\s*{NUMBER}x$")
SHARE = re.compile(rf"^\s*(.+?):\s*{NUMBER} ms per epoch = {NUMBER}% of the epoch$")


def parse_training(output: str) -> list[Row]:
    """The ratio lines of bench_training.py's text report: variant rows (wall median and CPU
    median, each with its ratio to the plain loop), ``name: N.Nx`` lines and
    ``name: N ms per epoch = P% of the epoch`` lines."""
    rows: list[Row] = []
    plain: tuple[str, str] | None = None
    for line in output.splitlines():
        if variant := VARIANT.match(line):
            name, wall, wall_ratio, _, _, cpu, cpu_ratio = variant.groups()
            if name == "plain loop":
                plain = (wall, cpu)
                continue
            base_wall, base_cpu = plain or ("?", "?")
            for kind, ours, base, ratio in (
                ("wall", wall, base_wall, wall_ratio),
                ("CPU", cpu, base_cpu, cpu_ratio),
            ):
                metric = f"[training] epoch {kind} median: {name} / plain loop"
                rows.append(Row(metric, f"{ours} s", f"{base} s (plain loop)", f"{ratio}x"))
        elif share := SHARE.match(line):
            name, ms, percent = share.groups()
            ratio = f"{float(percent) / 100:.3g}x"
            rows.append(Row(f"[training] {name} / epoch", f"{ms} ms", "one epoch", ratio))
        elif speed := SPEED.match(line):
            rows.append(Row(f"[training] {speed.group(1)}", "-", "-", f"{speed.group(2)}x"))
    if not rows:
        rows.append(Row.skipped(f"[training] {TRAINING}", "no ratio line recognised"))
    return rows


def run_script(
    script: Path, args: list[str], limit: float, *, capture: bool = False
) -> tuple[int, str]:
    """Run ``script`` in its own session; on overrun SIGTERM (it cleans up), then SIGKILL."""
    print(f"\n=== {script.name} {' '.join(args)}", flush=True)
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE if capture else None,
        text=True,
        start_new_session=True,
    )
    output = ""
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        print(f"{script.name}: over {limit:.0f} s, stopping it", file=sys.stderr)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                output = process.communicate(timeout=60)[0] or output
        signal_group(process.pid, signal.SIGKILL)
        process.wait()
    if capture and output:
        print(output, end="", flush=True)
    return process.returncode, output or ""


if __name__ == "__main__":
    sys.exit(main())
