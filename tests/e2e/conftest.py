"""Browser tests: a real server (uvicorn, or Gunicorn for the Flask twin) in a subprocess,
driven by Debian's headless Chromium.

One server per test module (runs are one at a time, so tests wait for theirs to end), one
browser per session, one fresh browser context per test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.a11y import audit
from tests.e2e.server import Server
from tests.utils.processes import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-output" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPECT_TIMEOUT = 30_000  # ms
NOT_OURS = {"/docs", "/redoc", "about:blank", ""}  # pages whose markup the app does not write


@pytest.fixture(scope="session")
def vendor_files() -> None:
    """The pinned front-end files (htmx, the API docs' viewers, axe-core), served locally so
    the page needs no network."""
    from frontend import vendor

    if not all(vendor.is_verified(item) for item in vendor.pinned()):
        try:
            vendor.main([])
        except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
            pytest.fail(f"cannot fetch the pinned files (run `python -m frontend.vendor`): {exc}")
    missing = [str(item.local_path) for item in vendor.pinned() if not vendor.is_verified(item)]
    assert not missing, f"vendor files missing or not matching their hashes: {missing}"


@pytest.fixture(scope="module")
def framework() -> str:
    """The web layer the module's server runs; a module may name the Flask twin instead."""
    return "fastapi"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, vendor_files: None, framework: str
) -> Iterator[Server]:
    """The app on a free port, with a small custom dataset named ``tiny``."""
    from food_vision.datasets.demo import generate_demo

    running = Server(tmp_path_factory.mktemp("e2e-home"), framework=framework)
    generate_demo(
        running.data_dir / "tiny",
        train_per_class=24,
        test_per_class=6,
        size=64,
        samples_per_class=1,
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Assertions wait for a state, never for a duration: on a busy machine, wait long for it.
    expect.set_options(timeout=EXPECT_TIMEOUT)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail(
            "Debian's chromium is not installed: `apt-get install chromium` "
            "(`make test` installs it when running as root)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def idle_server(server: Server) -> Server:
    """The module's server with no run active (a test's run must not block the next test)."""
    server.wait_idle()
    return server


@pytest.fixture
def context(browser: Browser, idle_server: Server) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=idle_server.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab whose every Content-Security-Policy violation (reported on the console) fails the
    test: the page must work under the headers the server sends (the API docs' viewers,
    not written here, excepted). The state the test leaves it
    in must pass the accessibility audit (tests audit the states on their way themselves)."""
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text and is_ours(opened.url)
            else None
        ),
    )
    yield opened
    assert not violations, f"the page broke its Content-Security-Policy: {violations}"
    if not opened.is_closed() and is_ours(opened.url):
        audit(opened, f"where the test left {opened.url}")


def is_ours(url: str) -> bool:
    """A page of the app's own, not the API docs' viewers (ReDoc's footer logo, say, is
    refused by their policy, as it should be)."""
    return urlsplit(url).path not in NOT_OURS


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module", autouse=True)
def module_queue(queue_database: str) -> str:
    """Every app of the module queues its runs in the module's own database."""
    return queue_database
