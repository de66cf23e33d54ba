"""Dataset uploads under pressure, on real servers: every limit applies while the bytes stream
(with a Content-Length, without one, chunked), two uploads at once both land, a dataset deleted
during an upload ends it cleanly, and a full disk is named; each refusal changes nothing."""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.dataset_calls import make, send, staging_is_empty, stored
from tests.utils.photos import camera_jpeg, class_photos
from tests.utils.server import AppServer

LIMITS = {
    "FOODVISION_MAX_PHOTO_BYTES": str(96 * 1024),
    "FOODVISION_MAX_PHOTOS_PER_UPLOAD": "12",
    "FOODVISION_MAX_DATASET_UPLOAD_BYTES": str(1024 * 1024),
    "FOODVISION_MAX_DATASETS_BYTES": str(3 * 1024 * 1024),
}
FILE_SIZE_LIMIT = 256 * 1024  # the "disk" of the full-disk server: no file may grow past it
BOUNDARY = "edge"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    running = AppServer(tmp_path_factory.mktemp("limits"), settings=dict(LIMITS))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def part_head(label: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="label"\r\n\r\n{label}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()


def open_chunked(server: AppServer, path: str) -> socket.socket:
    """A raw connection that has sent the headers of a chunked multipart POST."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    return sock


def send_chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))


def read_reply(sock: socket.socket) -> bytes:
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        data = sock.recv(65536)
        if not data:
            break
        reply += data
    return reply


def test_a_photo_over_its_limit_is_skipped_and_the_rest_kept(client: httpx.Client) -> None:
    make(client, "perfile")
    photos = {**class_photos("pizza", 3), "huge.jpg": b"\xff\xd8\xff" + b"\0" * 200_000}
    report = send(client, "perfile", "pizza", photos).json()
    assert len(report["accepted"]) == len(photos) - 1
    reason = "too large: over the 96.0 KiB limit per photo"
    assert report["skipped"] == [{"file": "huge.jpg", "reason": reason}]


def test_too_many_files_in_one_request_are_refused_whole(
    client: httpx.Client, server: AppServer
) -> None:
    make(client, "count")
    response = send(client, "count", "pizza", class_photos("pizza", 13))
    assert response.status_code == 413 and "more than 12 files" in response.json()["detail"]
    assert stored(server.data_dir, "count") == ["dataset.json"]
    assert staging_is_empty(server.data_dir)


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.Client, server: AppServer
) -> None:
    make(client, "declared")
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            (
                f"POST /api/datasets/declared/images HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {10**9}\r\n\r\n"
            ).encode()
            + part_head("pizza")
        )
        reply = read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"1.0 MiB limit" in reply
    assert stored(server.data_dir, "declared") == ["dataset.json"]


def test_a_chunked_upload_is_cut_off_once_over_the_limit(
    client: httpx.Client, server: AppServer
) -> None:
    make(client, "chunked")
    sock = open_chunked(server, "/api/datasets/chunked/images")
    sent = 0
    try:
        send_chunk(sock, part_head("pizza"))
        while sent < 64 * 1024 * 1024:
            try:
                send_chunk(sock, b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 65536
            if select.select([sock], [], [], 0)[0]:
                break
        reply = read_reply(sock)
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"1.0 MiB limit" in reply
    # The server stops reading at the limit; what was sent past it sits in socket buffers.
    assert sent < 16 * 1024 * 1024, f"sent {sent} bytes before the server refused"
    assert stored(server.data_dir, "chunked") == ["dataset.json"]
    assert staging_is_empty(server.data_dir)


def test_the_datasets_total_size_is_kept(client: httpx.Client, server: AppServer) -> None:
    make(client, "total")
    batch = {f"{n}.jpg": camera_jpeg(400, 300, seed=n, quality=97) for n in range(60)}
    assert sum(map(len, batch.values())) > 3 * 1024 * 1024 > 10 * max(map(len, batch.values()))
    names = list(batch)
    refused = None
    for start in range(0, len(names), 10):
        response = send(client, "total", "pizza", {n: batch[n] for n in names[start : start + 10]})
        if response.status_code != 200:
            refused = response
            break
    assert refused is not None and refused.status_code == 413
    assert "size limit" in refused.json()["detail"]
    used = sum(
        p.stat().st_size
        for p in (server.data_dir).rglob("*")
        if p.is_file() and not p.is_relative_to(server.data_dir / ".locks")
    )
    assert used <= 3 * 1024 * 1024 + 64 * 1024
    assert staging_is_empty(server.data_dir)


def test_two_uploads_at_once_lose_nothing(server: AppServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        make(http, "together")
    batches = {label: class_photos(label, 8) for label in ("pizza", "sushi")}
    results: dict[str, httpx.Response] = {}

    def upload(label: str) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            results[label] = send(http, "together", label, batches[label])

    threads = [threading.Thread(target=upload, args=(label,)) for label in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.status_code == 200 for r in results.values())
    with httpx.Client(base_url=server.url, timeout=60) as http:
        detail = http.get("/api/datasets/together").json()
    assert sorted(detail["classes"]) == ["pizza", "sushi"]
    assert len(detail["photos"]) == sum(len(b) for b in batches.values())


def test_a_dataset_deleted_during_an_upload_ends_it_cleanly(
    client: httpx.Client, server: AppServer
) -> None:
    make(client, "vanishing")
    photo = next(iter(class_photos("pizza", 1).values()))
    sock = open_chunked(server, "/api/datasets/vanishing/images")
    try:
        send_chunk(sock, part_head("pizza") + photo[:1000])
        time.sleep(0.5)  # the server is reading the body now
        assert client.delete("/api/datasets/vanishing").status_code == 204
        send_chunk(sock, photo[1000:] + f"\r\n--{BOUNDARY}--\r\n".encode())
        sock.sendall(b"0\r\n\r\n")
        reply = read_reply(sock)
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 404"), reply[:300]
    assert b"no dataset named" in reply
    assert not (server.data_dir / "vanishing").exists() and staging_is_empty(server.data_dir)


def _small_disk() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def test_a_full_disk_is_named_and_the_dataset_stays_intact(tmp_path: Path) -> None:
    full = AppServer(tmp_path / "home", preexec=_small_disk)
    full.home.mkdir()
    full.start()
    try:
        with httpx.Client(base_url=full.url, timeout=60) as http:
            make(http, "full")
            assert send(http, "full", "pizza", class_photos("pizza", 3)).status_code == 200
            before = stored(full.data_dir, "full")
            big = {"big.jpg": camera_jpeg(1200, 900, quality=98)}
            assert len(big["big.jpg"]) > FILE_SIZE_LIMIT
            response = send(http, "full", "pizza", big)
            assert response.status_code == 507, response.text
            assert "disk is full" in response.json()["detail"]
            assert stored(full.data_dir, "full") == before and staging_is_empty(full.data_dir)
            assert http.get("/api/datasets/full").json()["counts"]["pizza"]
    finally:
        full.stop()
