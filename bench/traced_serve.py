"""``foodvision serve`` with tracemalloc on, for the soak: each SIGUSR1 writes a snapshot of the
server's Python allocations, so growth can be traced to the lines that allocate it. Tracing
starts after the heavy imports (torch, the app), which would otherwise take minutes.

    python bench/traced_serve.py SNAPSHOT_DIR serve --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import signal
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRAMES = 8


def main() -> int:
    folder, argv = Path(sys.argv[1]), sys.argv[2:]
    folder.mkdir(parents=True, exist_ok=True)
    from backend.cli import main as cli_main
    from backend.server import serve  # noqa: F401  (torch, the app: imported before tracing)

    tracemalloc.start(FRAMES)
    taken = 0

    def dump(_signum: int, _frame: object) -> None:
        nonlocal taken
        snapshot = tracemalloc.take_snapshot()
        staged = folder / f"{taken:03d}.tmp"
        snapshot.dump(str(staged))
        staged.rename(folder / f"{taken:03d}.snapshot")
        taken += 1

    signal.signal(signal.SIGUSR1, dump)
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
