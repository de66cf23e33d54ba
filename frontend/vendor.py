"""The pinned front-end libraries: fetched from the npm registry, checked by their SRI hash.

``python -m frontend.vendor`` copies them into ``frontend/static/vendor/`` (ignored by git) so
the page works offline; without them the page loads the same files from a CDN with SRI.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def cdn_url(self) -> str:
        return f"{CDN}/{self.package}@{self.version}/{self.path}"

    @property
    def local_path(self) -> Path:
        return VENDOR_DIR / self.file


def pinned() -> list[VendorFile]:
    data = json.loads((FRONTEND / "vendor.json").read_text(encoding="utf-8"))
    return [VendorFile(package=name, **spec) for name, spec in data.items()]


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
    )


def integrity_of(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def is_verified(item: VendorFile) -> bool:
    path = item.local_path
    return path.is_file() and integrity_of(path.read_bytes()) == item.integrity


def fetch(item: VendorFile) -> None:
    """``npm pack`` the pinned version, check the file's hash, then move it into place."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"{item.package}@{item.version}"
        subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(f"package/{item.path}")
            if member is None:
                raise RuntimeError(f"{spec} has no {item.path}")
            data = member.read()
    if integrity_of(data) != item.integrity:
        raise RuntimeError(f"{spec}/{item.path} does not match its pinned integrity hash")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    staged = item.local_path.with_suffix(".tmp")
    staged.write_bytes(data)
    shutil.move(staged, item.local_path)


def main() -> int:
    for item in pinned():
        if not is_verified(item):
            fetch(item)
        print(f"{item.package}@{item.version} -> {item.local_path.relative_to(FRONTEND.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
