"""The README's screenshots, made the way a person would get there: a run trained from the
form and watched to the end, then a sample photo predicted; at desktop width (the whole page)
and at phone width (the prediction in view). ``make screenshots`` copies them into docs/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import audit
from tests.e2e.server import Server
from tests.e2e.ui import END_TIMEOUT, start_run_from_form

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def predict_a_sample(page: Page) -> None:
    page.locator("button.sample").first.click()
    expect(page.locator("#prediction-result li.bar")).to_have_count(3)
    expect(page.locator("#drop-preview")).to_be_visible()
    page.evaluate("document.getElementById('predict-title').scrollIntoView({block: 'start'})")


def test_readme_screenshots(
    page: Page, browser: Browser, idle_server: Server, screenshots: Path
) -> None:
    page.goto("/")
    run_id = start_run_from_form(page, epochs=4, more={"Patience": "0"})
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
    expect(page.locator(f'#model-select option[value="{run_id}"]')).to_have_count(1)
    predict_a_sample(page)
    page.evaluate("window.scrollTo(0, 0)")
    audit(page, "the README's desktop state")
    page.screenshot(path=screenshots / "readme-desktop.png", full_page=True)

    phone = browser.new_context(
        base_url=idle_server.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        small = phone.new_page()
        small.goto("/")
        predict_a_sample(small)
        audit(small, "the README's phone state")
        small.screenshot(path=screenshots / "readme-phone.png")
    finally:
        phone.close()
