"""The Host allowlist and cross-site refusal on a real server: DNS rebinding and cross-site
pages get nothing, while every spelling of the server's own names works."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Server

TINY = {"dataset": "tiny", "architecture": "tinyvgg", "epochs": 1, "batch_size": 8}
REBIND = "rebind.attacker.example"


def upgrade_status(port: int, path: str, headers: dict[str, str]) -> int:
    """The status of a WebSocket handshake sent with exactly these headers."""
    lines = [
        f"GET {path} HTTP/1.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status_line = sock.makefile("rb").readline().decode("latin-1")
    return int(status_line.split()[1])


def test_a_rebound_name_starts_nothing_and_reads_nothing(server: Server) -> None:
    server.wait_idle()
    before = httpx.get(f"{server.url}/api/runs").json()
    headers = {"Host": f"{REBIND}:{server.port}", "Origin": f"http://{REBIND}:{server.port}"}
    response = httpx.post(f"{server.url}/api/runs", json=TINY, headers=headers)
    assert response.status_code == 400
    assert REBIND in response.json()["detail"]
    assert "FOODVISION_ALLOWED_HOSTS" in response.json()["detail"]
    assert httpx.get(f"{server.url}/api/runs", headers=headers).status_code == 400
    assert httpx.get(f"{server.url}/", headers=headers).status_code == 400
    assert httpx.get(f"{server.url}/api/runs").json() == before


def test_a_rebound_name_gets_no_websocket(server: Server) -> None:
    bad = {"Host": f"{REBIND}:{server.port}"}
    assert upgrade_status(server.port, "/ws", bad) == 403
    assert upgrade_status(server.port, "/ws", {"Host": f"127.0.0.1:{server.port}"}) == 101


@pytest.mark.parametrize(
    "host",
    ["localhost:{port}", "LOCALHOST.:{port}", "127.0.0.1:{port}", "[::1]:{port}", "localhost"],
)
def test_the_server_answers_to_its_own_names(server: Server, host: str) -> None:
    response = httpx.get(f"{server.url}/api/runs", headers={"Host": host.format(port=server.port)})
    assert response.status_code == 200


def test_health_answers_any_name(server: Server) -> None:
    response = httpx.get(f"{server.url}/healthz", headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200


def test_cross_site_fetch_metadata_is_refused_without_origin(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/runs", json=TINY, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert "Sec-Fetch-Site" in response.json()["detail"]
    same = httpx.post(
        f"{server.url}/api/runs", json={"epochs": 0}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 422
    headers = {"Host": f"127.0.0.1:{server.port}", "Sec-Fetch-Site": "cross-site"}
    assert upgrade_status(server.port, "/ws", headers) == 403


@pytest.fixture(scope="module")
def public_server(tiny_home: Path) -> Iterator[Server]:
    """As behind a platform's router: bound to every address, a token, one public name."""
    srv = Server(tiny_home)
    srv.settings.update(
        FOODVISION_HOST="0.0.0.0",
        FOODVISION_TOKEN="sesame",
        FOODVISION_ALLOWED_HOSTS="food.example.com, *.lab.example",
    )
    srv.start()
    yield srv
    srv.stop()


def test_configured_names_replace_the_defaults(public_server: Server) -> None:
    url, token = f"{public_server.url}/api/runs", {"Authorization": "Bearer sesame"}
    assert httpx.get(url, headers={**token, "Host": "food.example.com"}).status_code == 200
    assert httpx.get(url, headers={**token, "Host": "gpu1.lab.example:443"}).status_code == 200
    assert httpx.get(url, headers={"Host": "food.example.com"}).status_code == 401
    refused = httpx.get(url, headers={**token, "Host": f"127.0.0.1:{public_server.port}"})
    assert refused.status_code == 400
