"""Downloads, archive extraction and archive datasets, against a local HTTP server and zips."""

from __future__ import annotations

import collections
import hashlib
import http.server
import io
import os
import random
import stat
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from food_vision.datasets.archive import UnsafeArchiveError, safe_extract_zip
from food_vision.datasets.download import DownloadError, download_file
from food_vision.datasets.fetch import fetch_archive_dataset

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 whose routes tests set, counting requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.release = threading.Event()  # stalled handlers wait on this, set at teardown
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    state = LocalServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] += 1
            route = state.routes.get(self.path)
            try:
                if route is None:
                    self.send_error(404)
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as several tests intend

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def body(data: bytes, *, length: int | None = -1, chunked: bool = False) -> Route:
    """A route sending ``data``; ``length`` -1 announces the true size, None announces none."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        if chunked:
            handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            handler.send_header("Content-Length", str(len(data) if length == -1 else length))
        handler.send_header("Connection", "close")
        handler.end_headers()
        if chunked:
            for start in range(0, len(data), 1024):
                piece = data[start : start + 1024]
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.wfile.write(data)

    return route


def redirect(location: str) -> Route:
    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


JPEG = b"\xff\xd8\xff\xe0fake-jpeg"
LAYOUT = {
    "train/pizza/1.jpg": JPEG,
    "train/steak/1.jpg": JPEG,
    "test/pizza/2.jpg": JPEG,
    "test/steak/2.jpg": JPEG,
}


# ------------------------------------------------------------------------------------------
# fetch_archive_dataset


def test_fetch_downloads_extracts_and_removes_archive(server: LocalServer, tmp_path: Path) -> None:
    archive = make_zip(LAYOUT)
    server.routes["/pss.zip"] = body(archive)
    root = tmp_path / "data"

    found = fetch_archive_dataset("pss", server.url("/pss.zip"), root, sha256=sha(archive))

    assert found == root / "pss"
    assert (found / "train" / "pizza" / "1.jpg").read_bytes() == JPEG
    assert (found / "test" / "steak" / "2.jpg").read_bytes() == JPEG
    assert list((root / ".downloads").iterdir()) == []
    assert [p.name for p in root.iterdir() if p.name != ".downloads"] == ["pss"]


def test_fetch_is_idempotent_without_a_request(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/pss.zip"] = body(make_zip(LAYOUT))
    first = fetch_archive_dataset("pss", server.url("/pss.zip"), tmp_path)
    second = fetch_archive_dataset("pss", server.url("/pss.zip"), tmp_path)
    assert first == second == tmp_path / "pss"
    assert server.hits["/pss.zip"] == 1


def test_fetch_finds_splits_in_single_top_level_folder(server: LocalServer, tmp_path: Path) -> None:
    nested = {f"pizza_steak_sushi/{name}": data for name, data in LAYOUT.items()}
    nested["__MACOSX/._junk"] = b""
    server.routes["/n.zip"] = body(make_zip(nested))
    found = fetch_archive_dataset("n", server.url("/n.zip"), tmp_path)
    assert found == tmp_path / "n" / "pizza_steak_sushi"
    assert (found / "train" / "pizza" / "1.jpg").is_file()


def test_fetch_without_splits_is_refused_and_cleaned(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/x.zip"] = body(make_zip({"images/a.jpg": JPEG}))
    with pytest.raises(DownloadError, match="train/ and test/"):
        fetch_archive_dataset("x", server.url("/x.zip"), tmp_path)
    assert tree(tmp_path) == [".downloads"]


def test_fetch_refuses_unsafe_archive_and_drops_it(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/bad.zip"] = body(make_zip({**LAYOUT, "../evil": b"x"}))
    with pytest.raises(UnsafeArchiveError, match=r"\.\./evil"):
        fetch_archive_dataset("bad", server.url("/bad.zip"), tmp_path / "root")
    assert tree(tmp_path) == ["root", "root/.downloads"]


@pytest.mark.parametrize("name", ["../up", "a/b", "", ".hidden", "x" * 65, "x" * 101])
def test_fetch_refuses_bad_dataset_name(server: LocalServer, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid dataset name"):
        fetch_archive_dataset(name, server.url("/pss.zip"), tmp_path)
    assert sum(server.hits.values()) == 0


# ------------------------------------------------------------------------------------------
# download_file


def test_download_streams_with_progress_on_stderr_only(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = random.Random(1).randbytes(300_000)
    server.routes["/f.bin"] = body(data)
    dest = tmp_path / "dl" / "f.bin"

    assert download_file(server.url("/f.bin"), dest, sha256=sha(data), progress=True) == dest

    assert dest.read_bytes() == data
    assert tree(tmp_path / "dl") == ["f.bin"]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "f.bin" in captured.err


def test_download_is_idempotent(server: LocalServer, tmp_path: Path) -> None:
    data = b"payload"
    server.routes["/f"] = body(data)
    dest = tmp_path / "f"
    download_file(server.url("/f"), dest, sha256=sha(data))
    download_file(server.url("/f"), dest, sha256=sha(data))
    download_file(server.url("/f"), dest)
    assert server.hits["/f"] == 1


def test_download_replaces_existing_file_with_wrong_checksum(
    server: LocalServer, tmp_path: Path
) -> None:
    data = b"right"
    server.routes["/f"] = body(data)
    dest = tmp_path / "f"
    dest.write_bytes(b"stale")
    download_file(server.url("/f"), dest, sha256=sha(data).upper())
    assert dest.read_bytes() == data
    assert server.hits["/f"] == 1


def test_download_follows_http_redirect(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/old"] = redirect(server.url("/new"))
    server.routes["/new"] = body(b"moved")
    dest = download_file(server.url("/old"), tmp_path / "f")
    assert dest.read_bytes() == b"moved"


def test_checksum_mismatch_leaves_nothing(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/f"] = body(b"tampered")
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_file(server.url("/f"), tmp_path / "dl" / "f", sha256=sha(b"original"))
    assert tree(tmp_path / "dl") == []


def test_truncated_body_is_detected(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/f"] = body(b"x" * 500, length=1000)
    with pytest.raises(DownloadError, match="cut short: got 500 of 1000 bytes"):
        download_file(server.url("/f"), tmp_path / "dl" / "f")
    assert tree(tmp_path / "dl") == []


@pytest.mark.parametrize(
    ("length", "chunked"),
    [(-1, False), (None, False), (None, True)],
    ids=["content-length", "close-delimited", "chunked"],
)
def test_size_cap(server: LocalServer, tmp_path: Path, length: int | None, chunked: bool) -> None:
    server.routes["/big"] = body(b"z" * 5000, length=length, chunked=chunked)
    with pytest.raises(DownloadError, match="more than the 1000 bytes download limit"):
        download_file(server.url("/big"), tmp_path / "dl" / "big", max_bytes=1000)
    assert tree(tmp_path / "dl") == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x.zip", "data:,hello", "http:///x", "x.zip"]
)
def test_non_http_url_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="only http:// and https://"):
        download_file(url, tmp_path / "f")
    assert tree(tmp_path) == []


def test_redirect_to_file_url_refused(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/r"] = redirect("file:///etc/passwd")
    with pytest.raises(DownloadError, match="HTTP 302"):
        download_file(server.url("/r"), tmp_path / "dl" / "f")
    assert tree(tmp_path / "dl") == []


@pytest.mark.parametrize("stall_after_headers", [False, True], ids=["no-headers", "mid-body"])
def test_slow_server_times_out(
    server: LocalServer, tmp_path: Path, stall_after_headers: bool
) -> None:
    def stall(handler: http.server.BaseHTTPRequestHandler) -> None:
        if stall_after_headers:
            handler.send_response(200)
            handler.send_header("Content-Length", "100")
            handler.end_headers()
            handler.wfile.write(b"x" * 10)
        server.release.wait(timeout=10)

    server.routes["/slow"] = stall
    started = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        download_file(server.url("/slow"), tmp_path / "dl" / "f", timeout=0.3)
    assert time.monotonic() - started < 5
    assert tree(tmp_path / "dl") == []


def test_http_404(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"HTTP 404 .*/missing\.zip|/missing\.zip.*HTTP 404"):
        download_file(server.url("/missing.zip"), tmp_path / "dl" / "f")
    assert tree(tmp_path / "dl") == []


def test_bad_sha256_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal"):
        download_file("http://127.0.0.1/x", tmp_path / "f", sha256="abc")


# ------------------------------------------------------------------------------------------
# safe_extract_zip


def write_zip(path: Path, infos: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in infos:
            if isinstance(info, str):  # zipfile.writestr("") fails; a ZipInfo("") does not
                info = special(info, stat.S_IFREG | 0o644)
                info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def special(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def assert_nothing_written(tmp_path: Path) -> None:
    """The target (``out/ds``) is absent, and nothing exists outside ``archives/``."""
    assert tree(tmp_path) == ["archives", "archives/a.zip"]


def test_extract_zip_layout(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", [*LAYOUT.items(), ("empty/", b"")])
    target = safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert tree(target) == [
        "empty",
        "test",
        "test/pizza",
        "test/pizza/2.jpg",
        "test/steak",
        "test/steak/2.jpg",
        "train",
        "train/pizza",
        "train/pizza/1.jpg",
        "train/steak",
        "train/steak/1.jpg",
    ]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ds"]  # no staging left


def test_extract_zip_existing_target_is_returned_untouched(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    target.mkdir()
    archive = write_zip(tmp_path / "a.zip", [("../evil", b"x")])
    assert safe_extract_zip(archive, target) == target
    assert tree(target) == []


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../evil", "'..' component"),
        ("../../evil", "'..' component"),
        ("train/../../evil", "'..' component"),
        ("..\\evil", "'..' component"),
        ("/tmp/evil", "absolute path"),
        ("\\\\server\\share\\evil", "absolute path"),
        ("C:/evil", "drive letter"),
        ("c:evil", "drive letter"),
    ],
)
def test_zip_unsafe_names_refused(tmp_path: Path, member: str, reason: str) -> None:
    archive = write_zip(tmp_path / "archives" / "a.zip", [*LAYOUT.items(), (member, b"x")])
    with pytest.raises(UnsafeArchiveError, match=reason) as caught:
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert repr(member) in str(caught.value)
    assert_nothing_written(tmp_path)


def test_zip_absolute_path_into_real_location_refused(tmp_path: Path) -> None:
    evil = tmp_path / "abs_evil"
    archive = write_zip(tmp_path / "archives" / "a.zip", [(str(evil), b"x")])
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert not evil.exists()
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("mode", "what"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFIFO | 0o644, "FIFO"),
        (stat.S_IFCHR | 0o644, "character device"),
    ],
)
def test_zip_special_members_refused(tmp_path: Path, mode: int, what: str) -> None:
    archive = write_zip(
        tmp_path / "archives" / "a.zip", [*LAYOUT.items(), (special("train/link", mode), b"/etc")]
    )
    with pytest.raises(UnsafeArchiveError, match=f"'train/link' is .*{what}"):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert_nothing_written(tmp_path)


def test_zip_too_many_members(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "archives" / "a.zip", [(f"f{i}", b"x") for i in range(10)])
    with pytest.raises(UnsafeArchiveError, match="10 members, more than the limit of 5"):
        safe_extract_zip(archive, tmp_path / "out" / "ds", max_members=5)
    assert_nothing_written(tmp_path)


def test_zip_bomb_refused(tmp_path: Path) -> None:
    archive = tmp_path / "archives" / "a.zip"
    archive.parent.mkdir()
    zeros = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("bomb.bin", "w") as member,
    ):
        for _ in range(50):
            member.write(zeros)
    assert archive.stat().st_size < 200_000
    with pytest.raises(
        UnsafeArchiveError, match=r"'bomb.bin' expands \d+x, over the limit of 200x"
    ):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert_nothing_written(tmp_path)


def test_zip_total_size_cap(tmp_path: Path) -> None:
    noise = random.Random(2).randbytes(600)
    archive = write_zip(tmp_path / "archives" / "a.zip", [("a", noise), ("b", noise)])
    with pytest.raises(
        UnsafeArchiveError, match=r"more than the 1000 bytes limit \(at member 'b'\)"
    ):
        safe_extract_zip(archive, tmp_path / "out" / "ds", max_total_bytes=1000)
    assert_nothing_written(tmp_path)


def test_zip_header_lying_about_size_refused(tmp_path: Path) -> None:
    """Declared sizes are not trusted: the data is counted and checked while extracting."""
    data = random.Random(3).randbytes(5000)
    raw = bytearray(make_zip({"train/a.bin": data}, method=zipfile.ZIP_STORED))
    central = raw.index(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10
    archive = tmp_path / "archives" / "a.zip"
    archive.parent.mkdir()
    archive.write_bytes(bytes(raw))
    with pytest.raises(UnsafeArchiveError, match="corrupt archive"):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"a": b"1", "a/b": b"2"}, "both a file and a folder"),
        ({"a": b"1", "./a": b"2"}, "appears twice"),
        ({"pizza/A.jpg": b"1", "pizza/a.jpg": b"2"}, "differ only in case"),
        ({"Pizza/a.jpg": b"1", "pizza/b.jpg": b"2"}, "differ only in case"),
        ({"cr\u00e8me/a.jpg": b"1", "cre\u0300me/b.jpg": b"2"}, "differ only in case"),
        ({"a": b"1", "A/b": b"2"}, "both a file and a folder"),
        ({"pizza/more.zip": b"PK\x03\x04"}, "archive inside the archive"),
        ({"pizza/more.TAR.GZ": b"1"}, "archive inside the archive"),
        ({".": b"1"}, "no usable file name"),
        ({"": b"1"}, "no usable file name"),
    ],
)
def test_zip_inconsistent_members_refused(
    tmp_path: Path, members: dict[str, bytes], reason: str
) -> None:
    archive = write_zip(tmp_path / "archives" / "a.zip", list(members.items()))
    with pytest.raises(UnsafeArchiveError, match=reason):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert_nothing_written(tmp_path)


def test_not_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "archives" / "a.zip"
    archive.parent.mkdir()
    archive.write_bytes(b"<html>not found</html>")
    with pytest.raises(UnsafeArchiveError, match="not a readable zip archive"):
        safe_extract_zip(archive, tmp_path / "out" / "ds")
    assert_nothing_written(tmp_path)


# ------------------------------------------------------------------------------------------
# Property: no member name leads outside the target


NAME_PIECES = st.sampled_from(
    ["..", ".", "", "/", "\\", "a", "b", "evil", "C:", "z:", "~", " ", "\x00", "ä", "..\\", "../"]
)
MEMBER_NAMES = st.one_of(
    st.lists(NAME_PIECES, min_size=1, max_size=8).map("".join),
    st.text(max_size=12),
)
MEMBERS = st.lists(
    st.tuples(MEMBER_NAMES, st.sampled_from(["file", "dir", "symlink"])), min_size=1, max_size=5
)


def build_archive(path: Path, members: list[tuple[str, str]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for name, kind in members:
                if kind == "dir":
                    zf.writestr(special(name + "/", stat.S_IFDIR | 0o755), b"")
                elif kind == "symlink":
                    zf.writestr(special(name, stat.S_IFLNK | 0o777), b"../../..")
                else:
                    zf.writestr(special(name, stat.S_IFREG | 0o644), b"data")


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(members=MEMBERS)
def test_no_member_name_escapes_target(members: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as sandbox_name:
        sandbox = Path(sandbox_name)
        archive = sandbox / "archive"
        build_archive(archive, members)
        work = sandbox / "deep" / "er" / "nest"
        work.mkdir(parents=True)
        target = work / "target"
        try:
            safe_extract_zip(archive, target)
        except UnsafeArchiveError:
            assert tree(work) == []  # refused: neither target nor staging folder left
        allowed = {"archive", "deep", "deep/er", "deep/er/nest", "deep/er/nest/target"}
        for dirpath, dirnames, filenames in os.walk(sandbox):
            for entry in dirnames + filenames:
                path = Path(dirpath, entry)
                assert not path.is_symlink()
                relative = str(path.relative_to(sandbox))
                assert relative in allowed or path.resolve().is_relative_to(target.resolve())
