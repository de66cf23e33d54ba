"""Download a file over HTTP(S) without trusting the server.

The body is streamed to a temporary file beside the destination with a size cap, a socket
timeout and an optional SHA-256, then renamed into place: readers never see a partial file, and
a failed download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any, BinaryIO

from tqdm import tqdm

from food_vision.datasets.sizes import human_size

__all__ = ["DownloadError", "download_file"]

_CHUNK = 1024 * 1024
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and the reason. Nothing is left behind."""


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
                f"{url} is {human_size(announced)}, "
                f"more than the {human_size(max_bytes)} download limit"
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
                        f"{url} sent more than the {human_size(max_bytes)} download limit"
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
