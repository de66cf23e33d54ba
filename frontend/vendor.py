"""The pinned front-end libraries: fetched from the npm registry, checked by their SRI hash.

``python -m frontend.vendor`` copies them into ``frontend/static/vendor/`` (ignored by git) so
the page and the API docs work offline; without them they load the same files from a CDN with
SRI. An air-gapped image build takes them from tarballs saved beforehand (``--pack-into``,
``--from``). Each file says its use: ``page`` (htmx), ``docs`` (Swagger UI and ReDoc for
``/docs`` and ``/redoc``) or ``tests`` (axe-core, which only the browser tests load).
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FRONTEND = Path(__file__).resolve().parent
VENDOR_DIR = FRONTEND / "static" / "vendor"
CDN = "https://cdn.jsdelivr.net/npm"


@dataclass(frozen=True)
class VendorFile:
    package: str
    version: str
    path: str
    file: str
    integrity: str
    use: Literal["page", "docs", "tests"] = "page"

    @property
    def cdn_url(self) -> str:
        return f"{CDN}/{self.package}@{self.version}/{self.path}"

    @property
    def local_path(self) -> Path:
        return VENDOR_DIR / self.file


def pinned() -> list[VendorFile]:
    data = json.loads((FRONTEND / "vendor.json").read_text(encoding="utf-8"))
    return [VendorFile(file=name, **spec) for name, spec in data.items()]


@dataclass(frozen=True)
class PageScript:
    src: str
    integrity: str


@functools.cache
def page_scripts() -> tuple[PageScript, ...]:
    """What the page loads: the local copies when the set-up fetched them (offline use), else
    the CDN, with the pinned integrity hash either way. Decided once per process, so the page
    and its Content-Security-Policy always agree."""
    return tuple(
        PageScript(
            f"/static/vendor/{item.file}" if item.local_path.is_file() else item.cdn_url,
            item.integrity,
        )
        for item in pinned()
        if item.use == "page"
    )


def asset_url(file: str) -> str:
    """Where a page loads the pinned ``file`` from: the local copy, else the CDN."""
    (item,) = (item for item in pinned() if item.file == file)
    return f"/static/vendor/{item.file}" if item.local_path.is_file() else item.cdn_url


def integrity_of(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def is_verified(item: VendorFile) -> bool:
    path = item.local_path
    return path.is_file() and integrity_of(path.read_bytes()) == item.integrity


class VendorError(RuntimeError):
    """A pinned file that cannot be had: said in one line, for the person running the set-up."""


def tarball_name(item: VendorFile) -> str:
    """The file name ``npm pack`` gives a package's tarball (``@scope/name`` -> ``scope-name``)."""
    return f"{item.package.lstrip('@').replace('/', '-')}-{item.version}.tgz"


def pack(item: VendorFile, folder: Path) -> Path:
    """``npm pack`` the pinned version from the npm registry into ``folder``."""
    spec = f"{item.package}@{item.version}"
    try:
        subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise VendorError("npm is not installed: it fetches the pinned front-end files") from None
    except subprocess.CalledProcessError as exc:
        raise VendorError(f"npm pack {spec} failed with exit status {exc.returncode}") from None
    return folder / tarball_name(item)


def read_pinned(item: VendorFile, tarball: Path) -> bytes:
    """The pinned file out of ``tarball``, refused unless it matches its integrity hash."""
    if not tarball.is_file():
        raise VendorError(f"{tarball} is missing (`make wheelhouse` saves it there)")
    try:
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(f"package/{item.path}")
            data = member.read() if member is not None else None
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error):
        data = None
    if data is None:
        raise VendorError(f"{tarball} is not an npm package holding {item.path}")
    if integrity_of(data) != item.integrity:
        raise VendorError(f"{tarball}: {item.path} does not match its pinned integrity hash")
    return data


def install(item: VendorFile, tarball: Path) -> None:
    """Check the pinned file in ``tarball``, then move it into place."""
    data = read_pinned(item, tarball)
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    staged = item.local_path.with_suffix(".tmp")
    staged.write_bytes(data)
    shutil.move(staged, item.local_path)


def fetch(items: Sequence[VendorFile], tarballs: Path | None = None) -> None:
    """From the npm registry (each package packed once), or from ``tarballs`` (a folder of
    saved ones) when offline."""
    with tempfile.TemporaryDirectory() as tmp:
        packed: dict[str, Path] = {}
        for item in items:
            name = tarball_name(item)
            if tarballs is not None:
                packed[name] = tarballs / name
            elif name not in packed:
                packed[name] = pack(item, Path(tmp))
            install(item, packed[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m frontend.vendor",
        description="Copy the pinned front-end files into frontend/static/vendor/, by hash.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from",
        dest="tarballs",
        type=Path,
        metavar="DIR",
        help="offline: take the npm tarballs from DIR (as --pack-into saved them)",
    )
    source.add_argument(
        "--pack-into",
        type=Path,
        metavar="DIR",
        help="save the pinned npm tarballs into DIR for an offline build, then stop",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.pack_into is not None:
            _pack_all(args.pack_into)
            return 0
        _install_all(args.tarballs)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _install_all(tarballs: Path | None) -> None:
    if tarballs is not None and not tarballs.is_dir():
        raise VendorError(f"{tarballs} is not a folder")
    fetch([item for item in pinned() if not is_verified(item)], tarballs)
    for item in pinned():
        print(f"{item.package}@{item.version} -> {item.local_path}")


def _pack_all(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise VendorError(f"{folder} is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    packed: dict[str, Path] = {}
    for item in pinned():
        name = tarball_name(item)
        tarball = packed.get(name) or pack(item, folder)
        packed[name] = tarball
        read_pinned(item, tarball)
        print(f"{item.package}@{item.version} {item.path} -> {tarball}")


if __name__ == "__main__":
    sys.exit(main())
