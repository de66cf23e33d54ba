"""A server with no way out, as on an air-gapped machine: its page says which choices need a
download and refuses those it cannot make before a run starts; a lost connection shows and
the page comes back with the server; the API docs work from the local copies.

The downloads point at a closed port on this machine (the mirror settings), and the torch
cache is an empty folder: nothing here can reach, or ever tries, the internet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.a11y import audit
from tests.e2e.server import SETTINGS, Server
from tests.e2e.ui import wait_in_page
from tests.utils.server import HOST, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, vendor_files: None) -> Iterator[Server]:
    """No model yet, no dataset prepared, and every download unreachable."""
    home = tmp_path_factory.mktemp("offline-home")
    nowhere = f"http://{HOST}:{free_port()}"  # nothing listens there
    running = Server(
        home,
        settings={
            **SETTINGS,
            "TORCH_HOME": str(home / "torch"),
            "FOODVISION_WEIGHTS_MIRROR": f"{nowhere}/models/",
            "FOODVISION_DATASETS_MIRROR": f"{nowhere}/data/",
        },
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


def refused_inline(page: Page, server: Server, field: str, message: str) -> None:
    """Start is refused with ``message`` beside ``field``, and no run exists."""
    form = page.locator("#train-form")
    form.get_by_role("button", name="Start training").click()
    error = page.locator(f"#e-{field}")
    expect(error).to_contain_text(message)
    expect(page.locator(f"#f-{field}")).to_have_attribute("aria-describedby", f"e-{field}")
    assert error.evaluate("el => el.scrollWidth <= el.clientWidth"), "the message runs out"
    assert server.runs() == []


def test_choices_say_what_works_offline_and_refuse_the_rest(page: Page, server: Server) -> None:
    page.goto("/")
    form = page.locator("#train-form")
    models = form.get_by_label("Model", exact=True)
    expect(models.locator('option[value="efficientnet_lite0"]')).to_have_text(
        "EfficientNet-Lite0 · weights included"
    )
    expect(models.locator('option[value="mobilenet_v3_small"]')).to_have_text(
        "MobileNetV3-Small · 10 MB download"
    )
    datasets = form.get_by_label("Dataset", exact=True)
    expect(datasets.locator('option[value="pizza_steak_sushi"]')).to_have_text(
        "pizza_steak_sushi · download"
    )
    expect(page.locator("#downloads-note")).to_have_text(
        "Downloaded when first used: pizza_steak_sushi (16 MB), pizza_steak_sushi_20 (30 MB),"
        " food101 (5 GB)."
    )
    # On first load, with no model yet: no "Model" label without its control.
    expect(page.locator("#model-picker label")).to_have_count(0)
    audit(page, "a server with nothing prepared")

    models.select_option("mobilenet_v3_small")
    form.get_by_label("Epochs", exact=True).fill("1")
    refused_inline(page, server, "pretrained", "Untick “Start from ImageNet weights”")
    text = page.locator("#train-form").inner_text()
    assert "--pretrained" not in text and "/" not in page.locator("#e-pretrained").inner_text()
    audit(page, "a choice refused")

    models.select_option("tinyvgg")
    datasets.select_option("pizza_steak_sushi")
    refused_inline(page, server, "dataset", "Choose the demo dataset")


def test_a_lost_connection_shows_and_the_page_comes_back(page: Page, server: Server) -> None:
    page.goto("/")
    start = page.get_by_role("button", name="Start training")
    banner = page.locator("#connection-state")
    wait_in_page(page, "document.querySelector('main[ws-connect]') !== null")
    expect(banner).to_be_hidden()
    expect(start).to_be_enabled()
    page.evaluate("window.__notReloaded = true")

    server.stop()
    expect(banner).to_be_visible()
    expect(banner).to_have_text("Connection to the server lost: reconnecting…")
    expect(start).to_be_disabled()
    audit(page, "connection lost")

    server.start()
    expect(banner).to_be_hidden()
    expect(start).to_be_enabled()
    assert page.evaluate("window.__notReloaded === true")


def test_the_api_docs_work_offline_and_are_linked_from_the_page(page: Page, server: Server) -> None:
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == HOST:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto("/")
    page.locator("footer").get_by_role("link", name="interactive docs (Swagger UI)").click()
    expect(page).to_have_url(re.compile(r"/docs$"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("FoodVision")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.go_back()
    page.locator("footer").get_by_role("link", name="reference (ReDoc)").click()
    expect(page).to_have_url(re.compile(r"/redoc$"))
    expect(page.locator("h1").first).to_contain_text("FoodVision")
    assert elsewhere == [], f"the docs asked for files from elsewhere: {elsewhere}"
