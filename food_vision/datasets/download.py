"""Download dataset archives and unpack them without trusting their contents.

Archives come from the network or from users, so every byte count, path and entry type is
checked. A download is streamed to a temporary file with a size cap, a socket timeout and an
optional SHA-256, then renamed into place. An archive is inspected in full before anything is
written, then unpacked into a temporary folder that is renamed into place, so a failure never
leaves a half-made dataset (or a file outside the target) behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import secrets
import shutil
import stat
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from tqdm import tqdm

__all__ = [
    "DownloadError",
    "UnsafeArchiveError",
    "download_file",
    "fetch_archive_dataset",
    "safe_extract_tar",
    "safe_extract_zip",
    "split_root",
]

_CHUNK = 1024 * 1024
# Members at most this large skip the compression-ratio check: a small, very compressible file
# (a text file of spaces) is harmless, and the total-size cap still bounds the sum.
_RATIO_MIN_BYTES = 1024 * 1024
_MAX_NAME_CHARS = 1024
_MAX_COMPONENT_BYTES = 255
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_ZIP_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
_FILE_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and the reason. Nothing is left behind."""


class UnsafeArchiveError(ValueError):
    """An archive was refused (unsafe or unreadable entry, or over a limit); nothing is written."""


# --------------------------------------------------------------------------------------------
# Downloading


def download_file(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    max_bytes: int = 2 * 1024**3,
    timeout: float = 30.0,
    progress: bool = False,
) -> Path:
    """Stream ``url`` to ``dest`` and return ``dest``.

    The body goes to a temporary file beside ``dest`` and is renamed into place only once it is
    complete (not truncated, at most ``max_bytes``, matching ``sha256`` when given), so readers
    never see a partial file. ``timeout`` bounds each socket operation (connect, every read).
    If ``dest`` already exists (and matches ``sha256``) nothing is fetched.
    """
    dest = Path(dest)
    _check_url(url)
    expected = _normalise_sha256(sha256)
    if dest.is_file() and (expected is None or _file_sha256(dest) == expected):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DownloadError(f"cannot write {dest} to download {url}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, max_bytes=max_bytes, timeout=timeout, progress=progress)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and digest != expected:
            raise DownloadError(
                f"checksum mismatch for {url}: expected SHA-256 {expected}, got {digest}"
            )
        os.replace(tmp, dest)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # it holds the response socket
        if isinstance(exc, DownloadError) or not isinstance(
            exc, OSError | http.client.HTTPException
        ):
            raise
        raise DownloadError(f"could not download {url}: {_describe(exc, timeout)}") from exc
    return dest


class _HttpOnlyRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow redirects (GitHub sends one) but only to http/https, never ftp or file."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in _ALLOWED_SCHEMES:
            raise urllib.error.HTTPError(
                newurl, code, f"redirect to non-HTTP URL {newurl} refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _stream(url: str, out: BinaryIO, *, max_bytes: int, timeout: float, progress: bool) -> str:
    """Copy the body of ``url`` into ``out`` with the size checks; return its SHA-256."""
    opener = urllib.request.build_opener(_HttpOnlyRedirectHandler)
    request = urllib.request.Request(
        url, headers={"User-Agent": "foodvision", "Accept-Encoding": "identity"}
    )
    with opener.open(request, timeout=timeout) as response:
        announced = _content_length(response)
        if announced is not None and announced > max_bytes:
            raise DownloadError(
                f"{url} is {_size(announced)}, more than the {_size(max_bytes)} download limit"
            )
        digest = hashlib.sha256()
        received = 0
        with tqdm(
            total=announced,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=Path(urllib.parse.urlsplit(url).path).name or "download",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            # Ask for at most one byte past the limit, so an endless body is cut off promptly.
            while chunk := response.read(min(_CHUNK, max_bytes - received + 1)):
                received += len(chunk)
                if received > max_bytes:
                    raise DownloadError(
                        f"{url} sent more than the {_size(max_bytes)} download limit"
                    )
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
    if announced is not None and received < announced:
        raise DownloadError(f"download of {url} was cut short: got {received} of {announced} bytes")
    return digest.hexdigest()


def _content_length(response: Any) -> int | None:
    """The announced body size, or None when absent, invalid or overridden by chunking."""
    headers = response.headers
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return None
    try:
        length = int(headers.get("Content-Length") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


def _check_url(url: str) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in _ALLOWED_SCHEMES or not parts.hostname:
        raise DownloadError(f"refusing to download {url!r}: only http:// and https:// URLs")


def _normalise_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return sha256.lower()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(exc: BaseException, timeout: float) -> str:
    """One line for a person: the HTTP status, a timeout, or the network error."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, BaseException):
            return str(exc.reason)
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"no data for {timeout:g} s (timed out)"
    return str(exc) or type(exc).__name__


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


# --------------------------------------------------------------------------------------------
# Extracting


@dataclass(frozen=True)
class _Entry:
    """One archive member that passed the checks, with its path split into safe parts."""

    name: str
    parts: tuple[str, ...]
    is_dir: bool
    size: int
    member: Any


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
    ``..``; only regular files and folders; at most ``max_members`` members and
    ``max_total_bytes`` in all; no member over ``max_ratio`` compression (zip bombs). Bytes are
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
        return _materialise(entries, target, zf.open, max_total_bytes)


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


def safe_extract_tar(
    archive: Path,
    target: Path,
    *,
    max_members: int = 200_000,
    max_total_bytes: int = 8 * 1024**3,
    max_ratio: float = 200.0,
) -> Path:
    """Extract a (possibly compressed) tar archive like :func:`safe_extract_zip`.

    Links, devices, FIFOs and sparse files are refused. Tar has no per-member compressed size,
    so ``max_ratio`` applies to the declared total against the archive's size on disk; it is
    checked at every header, before the reader decompresses its way to the next one.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        return target
    with _open_tar(archive) as tf:
        archive_size = max(archive.stat().st_size, 1)
        entries: list[_Entry] = []
        declared = 0
        try:
            for member in tf:
                if len(entries) >= max_members:
                    raise UnsafeArchiveError(
                        f"archive has more members than the limit of {max_members}"
                    )
                entries.append(_tar_entry(member))
                declared += entries[-1].size
                if declared > max_total_bytes:
                    raise UnsafeArchiveError(
                        f"archive expands to more than the {_size(max_total_bytes)} limit "
                        f"(at member {member.name!r})"
                    )
                if declared > _RATIO_MIN_BYTES and declared / archive_size > max_ratio:
                    raise UnsafeArchiveError(
                        f"archive expands {declared / archive_size:.0f}x at member "
                        f"{member.name!r}, over the limit of {max_ratio:g}x (possible bomb)"
                    )
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise UnsafeArchiveError(f"{archive.name} is a corrupt tar archive: {exc}") from exc
        _check_entries(entries, max_total_bytes)
        return _materialise(entries, target, tf.extractfile, max_total_bytes)


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UnsafeArchiveError(f"{archive.name} is not a readable tar archive: {exc}") from exc


def _tar_entry(member: tarfile.TarInfo) -> _Entry:
    name = member.name
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(f"member {name!r} is a link; only files and folders are allowed")
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchiveError(
            f"member {name!r} is a device or FIFO; only files and folders are allowed"
        )
    if member.issparse():
        raise UnsafeArchiveError(f"member {name!r} is a sparse file, which is not supported")
    if not (member.isreg() or member.isdir()):
        raise UnsafeArchiveError(f"member {name!r} is not a regular file or folder")
    parts = _safe_parts(name)
    if member.isdir():
        return _Entry(name, parts, True, 0, member)
    return _Entry(name, parts, False, member.size, member)


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
    """Whole-archive checks: total size, duplicates, and a path that is both file and folder."""
    total = 0
    files: dict[tuple[str, ...], str] = {}
    folders: set[tuple[str, ...]] = set()
    for entry in entries:
        if not entry.parts:
            if entry.is_dir:
                continue  # "./": the target itself
            raise UnsafeArchiveError(f"member {entry.name!r} has no usable file name")
        if entry.is_dir:
            folders.add(entry.parts)
        else:
            if entry.parts in files:
                raise UnsafeArchiveError(f"member {entry.name!r} appears twice in the archive")
            files[entry.parts] = entry.name
            total += entry.size
            if total > max_total_bytes:
                raise UnsafeArchiveError(
                    f"archive expands to more than the {_size(max_total_bytes)} limit "
                    f"(at member {entry.name!r})"
                )
        folders.update(entry.parts[:i] for i in range(1, len(entry.parts)))
    clashes = folders & files.keys()
    if clashes:
        name = files[min(clashes)]
        raise UnsafeArchiveError(f"member {name!r} is both a file and a folder in the archive")


def _materialise(
    entries: list[_Entry],
    target: Path,
    open_member: Callable[[Any], IO[bytes] | None],
    max_total_bytes: int,
) -> Path:
    """Write checked entries into a staging folder beside ``target``, then rename it in."""
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    staging.mkdir()
    done = False
    try:
        written_total = 0
        for entry in entries:
            if not entry.parts:
                continue
            path = staging.joinpath(*entry.parts)
            if entry.is_dir:
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            source = open_member(entry.member)
            if source is None:  # cannot happen for a checked regular file; refuse anyway
                raise UnsafeArchiveError(f"member {entry.name!r} has no readable data")
            written = 0
            with source, open(path, "xb") as out:
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    written_total += len(chunk)
                    if written > entry.size:
                        raise UnsafeArchiveError(
                            f"member {entry.name!r} holds more data than its header declares"
                        )
                    if written_total > max_total_bytes:
                        raise UnsafeArchiveError(
                            f"archive expands to more than the {_size(max_total_bytes)} limit "
                            f"(at member {entry.name!r})"
                        )
                    out.write(chunk)
        try:
            staging.rename(target)
        except OSError:
            if not target.exists():
                raise
            # Another process finished the same extraction first; keep theirs.
        done = True
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, NotImplementedError) as exc:
        raise UnsafeArchiveError(f"corrupt archive while extracting: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for folder in created:  # parents this call made, deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break
    return target


# --------------------------------------------------------------------------------------------
# Datasets


def fetch_archive_dataset(
    name: str,
    url: str,
    root: Path,
    *,
    sha256: str | None = None,
    progress: bool = False,
) -> Path:
    """Download the zip at ``url`` into ``root/<name>`` and return the folder with the splits.

    The returned folder holds ``train/`` and ``test/`` (at the archive's top level, or inside
    its single top-level folder). An existing ``root/<name>`` is used without any request. The
    archive (``root/.downloads/<name>.zip``) is removed after extraction, and also when it is
    refused, so a later call downloads afresh.
    """
    if not _DATASET_NAME.fullmatch(name):
        raise ValueError(
            f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-' (max 100)"
        )
    root = Path(root)
    folder = root / name
    if folder.exists():
        found = split_root(folder)
        if found is None:
            raise DownloadError(
                f"{folder} exists but has no train/ and test/ folders; remove it to download "
                f"{name} again"
            )
        return found
    archive = root / ".downloads" / f"{name}.zip"
    download_file(url, archive, sha256=sha256, progress=progress)
    try:
        safe_extract_zip(archive, folder)
    except UnsafeArchiveError:
        archive.unlink(missing_ok=True)
        raise
    archive.unlink(missing_ok=True)
    found = split_root(folder)
    if found is None:
        shutil.rmtree(folder, ignore_errors=True)
        raise DownloadError(f"archive from {url} has no train/ and test/ folders at its top")
    return found


def split_root(folder: Path) -> Path | None:
    """``folder`` or its single top-level subfolder, whichever holds train/ and test/."""

    def has_splits(path: Path) -> bool:
        return (path / "train").is_dir() and (path / "test").is_dir()

    if has_splits(folder):
        return folder
    children = [
        child
        for child in folder.iterdir()
        if not child.name.startswith(".") and child.name != "__MACOSX"
    ]
    if len(children) == 1 and children[0].is_dir() and has_splits(children[0]):
        return children[0]
    return None
