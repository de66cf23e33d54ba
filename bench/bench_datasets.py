"""Bringing photos in: import throughput through the API against a plain file copy, the
server's memory while it imports a 500 MB zip, and decoding a 48 MP phone photo for
prediction against a 12 MP one.

(a) 300 camera-sized JPEGs (12 MP, 3 to 6 MB each; 60 with --quick) sent to
    ``POST /api/datasets/{name}/images`` in the page's batches (at most 25 files and 24 MB),
    one batch after another: images/s and MB/s / the same files copied one by one with
    ``shutil.copyfile`` on the same disk in the same run; and / the same files checked in
    this process (decoded at reduced scale, hashed, thumbnailed: the work an import must do).
(b) The server process's peak RSS while a 500 MB zip of such JPEGs (150 MB quick) is uploaded
    to ``/archive`` and imported / its RSS just before; and the growth / the zip's size.
(c) Median time of ``decode_image`` for the default model's 224 px input (what
    ``POST /api/predict`` does before the forward pass) for a 48 MP JPEG / for a 12 MP one;
    and the 48 MP decoded in full / reduced.

Each photo is one of a few generated camera-like pictures, made unique (so none is a
duplicate) by a comment segment after the JPEG's start: decoding costs what the picture costs.
"""

from __future__ import annotations

import shutil
import struct
import sys
import tempfile
import threading
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from backend.services.uploads import decode_image
from bench.harness import bench_main, log
from bench.table import Row
from bench.temp_server import BenchServer, bench_server
from bench.timing import median
from food_vision.datasets.intake import Candidate, ImportReport, PhotoLimits, check_photos
from food_vision.images import open_image
from food_vision.settings import Settings
from tests.utils.photos import camera_jpeg

MB = 1024 * 1024
BATCH_FILES, BATCH_BYTES = 25, 24 * MB  # as the page sends them (frontend/static/datasets.js)
INPUT = 224  # the default model's input side
QUALITIES = (90, 92, 94, 96)  # 12 MP pictures of 3 to 6 MB


def run(quick: bool) -> list[Row]:
    photos, zip_mb, decodes = (60, 150, 3) if quick else (300, 500, 7)
    with tempfile.TemporaryDirectory(prefix="foodvision-photos-") as scratch:
        folder = Path(scratch)
        log("generating camera-sized JPEGs")
        bases = [camera_jpeg(4032, 3024, seed=n, quality=q) for n, q in enumerate(QUALITIES)]
        files = write_photos(folder / "photos", bases, photos)
        archive = write_zip(folder / "photos.zip", bases, zip_mb * MB)
        rows = decode_rows(bases[0], camera_jpeg(8064, 6048, seed=9, quality=90), decodes)
        copy_seconds = copy_all(files, folder / "copies")
        check_seconds = check_all(files, folder / "thumbnails")
        with bench_server("datasets") as server:
            rows += import_rows(server, files, copy_seconds, check_seconds)
            rows += memory_rows(server, archive)
    return rows


def unique(base: bytes, index: int) -> bytes:
    """``base`` with a JPEG comment segment naming ``index``: same picture, other bytes."""
    note = f"FoodVision benchmark photo {index}".encode()
    return base[:2] + b"\xff\xfe" + struct.pack(">H", len(note) + 2) + note + base[2:]


def write_photos(folder: Path, bases: list[bytes], count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for index in range(count):
        path = folder / f"IMG_{index:04d}.jpg"
        path.write_bytes(unique(bases[index % len(bases)], index))
        paths.append(path)
    return paths


def write_zip(path: Path, bases: list[bytes], size: int) -> Path:
    written, index = 0, 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        while written < size:
            data = unique(bases[index % len(bases)], -index - 1)
            archive.writestr(f"{('pizza', 'sushi')[index % 2]}/DSC{index:05d}.jpg", data)
            written, index = written + len(data), index + 1
    return path


def copy_all(files: list[Path], target: Path) -> float:
    target.mkdir()
    started = time.perf_counter()
    for path in files:
        shutil.copyfile(path, target / path.name)
    return time.perf_counter() - started


def check_all(files: list[Path], thumbnails: Path) -> float:
    limits = PhotoLimits(Settings().max_photo_bytes, Settings().max_image_pixels)
    candidates = [Candidate(path.name, path, "food") for path in files]
    started = time.perf_counter()
    checked = check_photos(candidates, limits, ImportReport(), thumbnails)
    if len(checked) != len(files):
        raise RuntimeError("some photos did not pass the check")
    return time.perf_counter() - started


def batches(files: list[Path]) -> list[list[Path]]:
    groups: list[list[Path]] = [[]]
    size = 0
    for path in files:
        grown = size + path.stat().st_size
        if groups[-1] and (len(groups[-1]) >= BATCH_FILES or grown > BATCH_BYTES):
            groups.append([])
            grown = path.stat().st_size
        groups[-1].append(path)
        size = grown
    return groups


def import_rows(
    server: BenchServer, files: list[Path], copy_seconds: float, check_seconds: float
) -> list[Row]:
    total_mb = sum(path.stat().st_size for path in files) / MB
    log(f"importing {len(files)} photos ({total_mb:.0f} MB) through the API")
    with httpx.Client(base_url=server.url, timeout=600) as client:
        client.post("/api/datasets", json={"name": "photos"}).raise_for_status()
        started = time.perf_counter()
        accepted = 0
        for group in batches(files):
            with ExitStack() as stack:
                parts = [("files", (p.name, stack.enter_context(p.open("rb")))) for p in group]
                response = client.post(
                    "/api/datasets/photos/images", data={"label": "food"}, files=parts
                )
            response.raise_for_status()
            accepted += len(response.json()["accepted"])
        seconds = time.perf_counter() - started
    if accepted != len(files):
        raise RuntimeError(f"only {accepted} of {len(files)} photos were accepted")
    copy_rate = total_mb / copy_seconds
    return [
        Row.of("photo import via API, MB/s / plain copy", total_mb / seconds, copy_rate, "MB/s"),
        Row.of(
            "photo import via API, images/s / plain copy",
            len(files) / seconds,
            len(files) / copy_seconds,
            "img/s",
        ),
        Row.of(
            "photo import via API, images/s / checks alone",
            len(files) / seconds,
            len(files) / check_seconds,
            "img/s",
            "in-process",
        ),
    ]


def memory_rows(server: BenchServer, archive: Path) -> list[Row]:
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    zip_mb = archive.stat().st_size / MB
    log(f"importing a {zip_mb:.0f} MB zip")
    with httpx.Client(base_url=server.url, timeout=900) as client:
        client.post("/api/datasets", json={"name": "zipped"}).raise_for_status()
        sampler.start()
        try:
            with archive.open("rb") as handle:
                files = {"file": (archive.name, handle, "application/zip")}
                response = client.post("/api/datasets/zipped/archive", files=files)
        finally:
            done.set()
            sampler.join()
    response.raise_for_status()
    growth_mb = (peak - idle) / MB
    return [
        Row.of(f"server RSS peak, {zip_mb:.0f} MB zip import / idle", peak / MB, idle / MB, "MB"),
        Row.of("server RSS growth / zip size", growth_mb, zip_mb, "MB"),
    ]


def decode_rows(photo_12mp: bytes, photo_48mp: bytes, repeats: int) -> list[Row]:
    """The server's decode for a prediction (reduced JPEG decoding), timed in this process."""
    limit = Settings().max_image_pixels
    log("timing decodes of 12 MP and 48 MP JPEGs")

    def seconds(action: object) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            action()  # type: ignore[operator]
            times.append(time.perf_counter() - started)
        return median(times)

    twelve = seconds(lambda: decode_image(photo_12mp, max_pixels=limit, min_side=INPUT))
    forty_eight = seconds(lambda: decode_image(photo_48mp, max_pixels=limit, min_side=INPUT))
    full = seconds(lambda: open_image(photo_48mp, max_pixels=10**9))
    return [
        Row.of(
            f"decode for prediction, 48 MP ({len(photo_48mp) / MB:.0f} MB) / 12 MP "
            f"({len(photo_12mp) / MB:.1f} MB)",
            forty_eight * 1000,
            twelve * 1000,
            "ms",
        ),
        Row.of("decode 48 MP: full / reduced", full * 1000, forty_eight * 1000, "ms"),
    ]


if __name__ == "__main__":
    sys.exit(bench_main("Bringing photos in: import, zip memory, large-photo decoding", run))
