"""Unpack a zip archive without trusting its contents.

Archives come from the network or from users, so every byte count, path and entry type is
checked. The archive is inspected in full before anything is written, then unpacked into a
temporary folder that is renamed into place, so a failure never leaves a half-made folder (or a
file outside the target) behind.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from food_vision.atomic import atomic_dir
from food_vision.datasets.naming import folded
from food_vision.datasets.sizes import human_size

__all__ = ["UnsafeArchiveError", "safe_extract_zip"]

_CHUNK = 1024 * 1024
# Members at most this large skip the compression-ratio check: a small, very compressible file
# (a text file of spaces) is harmless, and the total-size cap still bounds the sum.
_RATIO_MIN_BYTES = 1024 * 1024
_MAX_NAME_CHARS = 1024
_MAX_COMPONENT_BYTES = 255
_ZIP_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
# A member with one of these endings is an archive inside the archive: never unpacked.
_ARCHIVE_SUFFIXES = (
    ".zip",
    ".tar",
    ".gz",
    ".tgz",
    ".bz2",
    ".tbz2",
    ".xz",
    ".txz",
    ".zst",
    ".7z",
    ".rar",
    ".lz",
    ".lzma",
    ".cab",
    ".jar",
)
_DRIVE = re.compile(r"[A-Za-z]:")
_FILE_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class UnsafeArchiveError(ValueError):
    """An archive was refused (unsafe or unreadable entry, or over a limit); nothing is written."""


@dataclass(frozen=True)
class _Entry:
    """One archive member that passed the checks, with its path split into safe parts."""

    name: str
    parts: tuple[str, ...]
    is_dir: bool
    size: int
    info: zipfile.ZipInfo


def safe_extract_zip(
    archive: Path,
    target: Path,
    *,
    max_members: int = 200_000,
    max_total_bytes: int = 8 * 1024**3,
    max_ratio: float = 200.0,
) -> Path:
    """Extract a zip archive into ``target`` (created) and return ``target``.

    Every member is checked before anything is written: no absolute paths, drive letters or
    ``..``; only regular files and folders; no archive inside the archive; no two names that
    differ only in case; at most ``max_members`` members and ``max_total_bytes`` in all; no
    member over ``max_ratio`` compression (zip bombs). Bytes are
    counted again while extracting, since headers can lie. Extraction goes to a temporary folder
    renamed into place, so ``target`` is either complete or absent. An existing ``target`` is
    returned untouched.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        return target
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise UnsafeArchiveError(f"{archive.name} is not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise UnsafeArchiveError(
                f"archive has {len(infos)} members, more than the limit of {max_members}"
            )
        entries = [_zip_entry(info, max_ratio) for info in infos]
        _check_entries(entries, max_total_bytes)
        return _materialise(entries, target, zf, max_total_bytes)


def _zip_entry(info: zipfile.ZipInfo, max_ratio: float) -> _Entry:
    name = info.filename
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        what = _FILE_KINDS.get(kind, "not a regular file")
        raise UnsafeArchiveError(f"member {name!r} is {what}; only files and folders are allowed")
    parts = _safe_parts(name)
    if kind == stat.S_IFDIR or name.endswith("/"):
        return _Entry(name, parts, True, 0, info)
    if info.flag_bits & 0x1:
        raise UnsafeArchiveError(f"member {name!r} is encrypted, which is not supported")
    if info.compress_type not in _ZIP_METHODS:
        raise UnsafeArchiveError(
            f"member {name!r} uses unsupported compression method {info.compress_type}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _RATIO_MIN_BYTES and ratio > max_ratio:
        raise UnsafeArchiveError(
            f"member {name!r} expands {ratio:.0f}x, over the limit of {max_ratio:g}x "
            "(possible zip bomb)"
        )
    return _Entry(name, parts, False, info.file_size, info)


def _safe_parts(name: str) -> tuple[str, ...]:
    """Split a member name into path parts that cannot leave the target on any platform."""
    if "\x00" in name:
        raise UnsafeArchiveError(f"member {name!r} has a NUL byte in its name")
    if len(name) > _MAX_NAME_CHARS:
        raise UnsafeArchiveError(f"member {name[:60]!r}... has a name over {_MAX_NAME_CHARS} chars")
    unified = name.replace("\\", "/")  # Windows tools sometimes write backslashes
    if unified.startswith("/"):
        raise UnsafeArchiveError(f"member {name!r} has an absolute path")
    if _DRIVE.match(unified):
        raise UnsafeArchiveError(f"member {name!r} starts with a drive letter")
    parts = tuple(part for part in unified.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(f"member {name!r} has a '..' component (escapes the target)")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_COMPONENT_BYTES:
            raise UnsafeArchiveError(f"member {name!r} has a path component over 255 bytes")
    return parts


def _check_entries(entries: Iterable[_Entry], max_total_bytes: int) -> None:
    """Whole-archive checks: total size, nested archives, duplicates (also names that differ
    only in case, which overwrite each other on many systems), and a path that is both file
    and folder."""
    total = 0
    files: dict[tuple[str, ...], str] = {}
    folders: dict[tuple[str, ...], tuple[str, ...]] = {}
    for entry in entries:
        if not entry.parts:
            if entry.is_dir:
                continue  # "./": the target itself
            raise UnsafeArchiveError(f"member {entry.name!r} has no usable file name")
        for depth in range(1, len(entry.parts) + (1 if entry.is_dir else 0)):
            _add_folder(folders, entry.parts[:depth], entry.name)
        if entry.is_dir:
            continue
        if entry.parts[-1].lower().endswith(_ARCHIVE_SUFFIXES):
            raise UnsafeArchiveError(
                f"member {entry.name!r} is an archive inside the archive; unpack it first"
            )
        key = _folded(entry.parts)
        if key in files:
            raise _twice(files[key], entry.name)
        files[key] = entry.name
        total += entry.size
        if total > max_total_bytes:
            raise _over_total(entry, max_total_bytes)
    clashes = folders.keys() & files.keys()
    if clashes:
        name = files[min(clashes)]
        raise UnsafeArchiveError(f"member {name!r} is both a file and a folder in the archive")


def _folded(parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(folded(part) for part in parts)


def _add_folder(
    folders: dict[tuple[str, ...], tuple[str, ...]], parts: tuple[str, ...], name: str
) -> None:
    seen = folders.setdefault(_folded(parts), parts)
    if seen != parts:
        raise UnsafeArchiveError(
            f"folders {'/'.join(seen)!r} and {'/'.join(parts)!r} differ only in case "
            f"(at member {name!r})"
        )


def _twice(first: str, second: str) -> UnsafeArchiveError:
    if _safe_parts(first) == _safe_parts(second):
        return UnsafeArchiveError(f"member {second!r} appears twice in the archive")
    return UnsafeArchiveError(f"members {first!r} and {second!r} differ only in case")


def _over_total(entry: _Entry, max_total_bytes: int) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"archive expands to more than the {human_size(max_total_bytes)} limit "
        f"(at member {entry.name!r})"
    )


def _materialise(
    entries: list[_Entry], target: Path, zf: zipfile.ZipFile, max_total_bytes: int
) -> Path:
    """Write checked entries into a staging folder beside ``target``, then rename it in."""
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    done = False
    try:
        with atomic_dir(target) as staging:
            _write_entries(entries, staging, zf, max_total_bytes)
        done = True
    except FileExistsError:
        if not target.exists():
            raise
        done = True  # another process finished the same extraction first; keep theirs
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UnsafeArchiveError(f"corrupt archive while extracting: {exc}") from exc
    finally:
        if not done:
            for folder in created:  # parents this call made, deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break
    return target


def _write_entries(
    entries: list[_Entry], staging: Path, zf: zipfile.ZipFile, max_total_bytes: int
) -> None:
    """Copy every entry under ``staging``, counting the bytes really written against the caps."""
    written_total = 0
    for entry in entries:
        if not entry.parts:
            continue
        path = staging.joinpath(*entry.parts)
        if entry.is_dir:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(entry.info) as source, open(path, "xb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                written_total += len(chunk)
                if written > entry.size:
                    raise UnsafeArchiveError(
                        f"member {entry.name!r} holds more data than its header declares"
                    )
                if written_total > max_total_bytes:
                    raise _over_total(entry, max_total_bytes)
                out.write(chunk)
