"""Response headers on every kind of answer, a Content-Security-Policy that matches where the
page's scripts come from (local copies or the CDN), and templates the policy does not break."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.web import headers
from food_vision.settings import Settings
from frontend import vendor
from frontend.vendor import FRONTEND
from tests.utils.server import TEST_CLIENT_HOSTS

CDN_ORIGIN = "https://cdn.jsdelivr.net"


def fresh_script_choice() -> None:
    vendor.page_scripts.cache_clear()
    headers.page_policy.cache_clear()
    headers.docs_policy.cache_clear()


@pytest.fixture
def client(tmp_path: Path, queue_database: str) -> Iterator[TestClient]:
    fresh_script_choice()
    settings = Settings(home=tmp_path, allowed_hosts=TEST_CLIENT_HOSTS, database_url=queue_database)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    fresh_script_choice()


@pytest.fixture
def without_local_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vendor, "VENDOR_DIR", tmp_path / "no-vendor")


@pytest.fixture
def with_local_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "vendor"
    folder.mkdir()
    for item in vendor.pinned():
        (folder / item.file).write_text("// a local copy\n")
    monkeypatch.setattr(vendor, "VENDOR_DIR", folder)


def policy(response: object) -> dict[str, str]:
    text = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return dict(part.strip().split(" ", 1) for part in text.split(";"))


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/api/runs", 200), ("/static/app.css", 200), ("/api/runs/nope", 404)],
)
def test_every_answer_carries_the_headers(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert policy(response)["frame-ancestors"] == "'none'"


def test_a_refused_host_gets_the_headers_too(client: TestClient) -> None:
    response = client.get("/api/runs", headers={"Host": "rebind.attacker.example"})
    assert response.status_code == 400
    assert "content-security-policy" in response.headers


@pytest.mark.usefixtures("with_local_copies")
def test_with_local_copies_scripts_come_from_this_server_only(client: TestClient) -> None:
    page = client.get("/")
    rules = policy(page)
    assert rules["script-src"] == "'self'"
    assert rules["style-src"] == "'self'"
    assert rules["object-src"] == "'none'" and rules["base-uri"] == "'none'"
    assert CDN_ORIGIN not in page.text
    assert 'src="/static/vendor/htmx.min.js"' in page.text


@pytest.mark.usefixtures("without_local_copies")
def test_without_local_copies_the_cdn_is_allowed_for_scripts_alone(client: TestClient) -> None:
    page = client.get("/")
    rules = policy(page)
    assert rules["script-src"] == f"'self' {CDN_ORIGIN}"
    assert rules["style-src"] == "'self'" and rules["connect-src"] == "'self'"
    scripts = ScriptTags.of(page.text)
    assert any(src.startswith(f"{CDN_ORIGIN}/npm/htmx.org@") for src, _ in scripts)
    assert all(integrity.startswith("sha384-") for src, integrity in scripts if "//" in src)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_use_the_local_copies_and_need_no_cdn(
    with_local_copies: None, client: TestClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    rules = policy(page)
    assert rules["script-src"] == "'self' 'unsafe-inline'"
    assert "https:" not in page.headers["content-security-policy"]
    assert rules["frame-ancestors"] == "'none'"
    assert "/static/vendor/" in page.text and "https://" not in page.text.split("<body")[0]
    assert "'unsafe-inline'" not in policy(client.get("/"))["script-src"]


def test_docs_pages_fall_back_to_the_cdn_without_local_copies(
    without_local_copies: None, client: TestClient
) -> None:
    rules = policy(client.get("/docs"))
    assert "'unsafe-inline'" in rules["script-src"] and CDN_ORIGIN in rules["script-src"]
    assert f"{CDN_ORIGIN}/npm/swagger-ui-dist@" in client.get("/docs").text


class ScriptTags(HTMLParser):
    """Every ``<script>`` (src, integrity) plus anything a strict policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str, str]] = []
        self.blocked: list[str] = []

    @classmethod
    def of(cls, html: str) -> list[tuple[str, str]]:
        parser = cls()
        parser.feed(html)
        assert not parser.blocked, parser.blocked
        return parser.scripts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if not found.get("src"):
                self.blocked.append("an inline <script>")
            self.scripts.append((found.get("src") or "", found.get("integrity") or ""))
        if tag == "style":
            self.blocked.append("a <style> element")
        for name in found:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"a {name}= attribute on <{tag}>")

    def handle_data(self, data: str) -> None:
        if "javascript:" in data:
            self.blocked.append("a javascript: URL")


def test_the_served_page_has_no_inline_script_or_style(client: TestClient) -> None:
    scripts = ScriptTags.of(client.get("/").text)
    assert "/static/predict.js" in [src for src, _ in scripts]


@pytest.mark.parametrize("template", sorted((FRONTEND / "templates").rglob("*.html")), ids=str)
def test_no_template_holds_what_the_policy_blocks(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", source)
