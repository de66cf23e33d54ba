"""The Host allowlist's name handling: ports, IPv6 literals, case, trailing dots, wildcards."""

from __future__ import annotations

import pytest

from backend.web.hosts import HostAllowlist, host_name
from food_vision.settings import Settings


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost", "localhost"),
        ("localhost:8000", "localhost"),
        ("LocalHost.:8000", "localhost"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("App.Example.COM.", "app.example.com"),
        ("", ""),
    ],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


DEFAULT = HostAllowlist(Settings(host="127.0.0.1").served_hosts)


@pytest.mark.parametrize(
    "header", ["127.0.0.1:8000", "localhost:1234", "LOCALHOST.", "[::1]:8000", "localhost"]
)
def test_loopback_names_are_served_by_default(header: str) -> None:
    assert DEFAULT.allows(header)


@pytest.mark.parametrize(
    "header",
    [
        "rebind.attacker.example:8000",
        "attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io:8000",
        "[::2]:8000",
        "",
        None,
        "0.0.0.0:8000",
    ],
)
def test_other_names_are_refused_by_default(header: str | None) -> None:
    assert not DEFAULT.allows(header)


def test_the_bind_address_is_served_too() -> None:
    allowlist = HostAllowlist(Settings(host="192.0.2.7").served_hosts)
    assert allowlist.allows("192.0.2.7:8000")
    assert not allowlist.allows("192.0.2.8:8000")


def test_configured_names_replace_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOODVISION_ALLOWED_HOSTS", "food.example.com, *.lab.example ")
    allowlist = HostAllowlist(Settings().served_hosts)
    assert allowlist.allows("food.example.com")
    assert allowlist.allows("FOOD.example.com.:443")
    assert allowlist.allows("gpu1.lab.example:8000")
    assert not allowlist.allows("lab.example.evil.com")
    assert not allowlist.allows("localhost:8000")


def test_a_star_serves_every_name() -> None:
    assert HostAllowlist(["*"]).allows("anything.example:1")
