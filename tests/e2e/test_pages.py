"""The page around the live run: form validation, past runs, a phone-sized screen."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.a11y import audit
from tests.e2e.server import Server
from tests.e2e.ui import END_TIMEOUT, epoch_rows, start_run_from_form

pytestmark = pytest.mark.e2e

PAST_EPOCHS = (1, 2)  # oldest first; one epoch: a chart of single points
# Elements whose right edge passes their card's content box, as "tag#id.class: overflow in px".
# The epoch table sits in a sideways-scrolling box for narrower screens, but on a phone of this
# width it must fit without scrolling: nothing is exempt.
SPILLING_OUT_OF_CARDS = """() => {
  const out = [];
  for (const card of document.querySelectorAll('.card')) {
    const style = getComputedStyle(card);
    const inner = card.getBoundingClientRect().right - parseFloat(style.borderRightWidth)
      - parseFloat(style.paddingRight);
    for (const el of card.querySelectorAll('*')) {
      const over = el.getBoundingClientRect().right - inner;
      if (over > 1) out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${over}`);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def past_runs(server: Server) -> list[str]:
    """Two finished runs with different epoch counts, started through the API; oldest first."""
    ids = []
    for epochs in PAST_EPOCHS:
        server.wait_idle()
        run = server.api(
            "POST",
            "/api/runs",
            {"dataset": "tiny", "architecture": "tinyvgg", "epochs": epochs, "batch_size": 8},
        )
        ids.append(run["id"])
        server.wait_idle()
    statuses = {run["id"]: run["status"] for run in server.runs()}
    assert [statuses[run_id] for run_id in ids] == ["completed", "completed"], server.log_tail()
    return ids


WRONG = {  # label: (what is typed, what the page says)
    "Epochs": ("0", "must be between 1 and 500"),
    "Learning rate": ("fast", "Enter a number."),
    "Batch size": ("0", "must be between 1 and 1024"),
}


def test_every_invalid_field_is_explained_at_once_and_starts_nothing(
    page: Page, idle_server: Server
) -> None:
    before = idle_server.runs()
    page.goto("/")
    form = page.locator("#train-form")
    form.get_by_label("Dataset", exact=True).select_option("tiny")
    form.get_by_label("Model", exact=True).select_option("tinyvgg")
    for label, (value, _) in WRONG.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Start training").click()

    expect(page.locator("#train-form .field-error")).to_have_count(len(WRONG))
    expect(page.locator("#form-errors")).to_have_text(
        f"{len(WRONG)} fields need a change: {', '.join(WRONG)}."
    )
    for label, (value, message) in WRONG.items():
        field = form.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_value(value)  # what the person typed is kept
        described = field.get_attribute("aria-describedby")
        expect(page.locator(f"#{described}")).to_have_text(message)  # tied to its field
        expect(page.locator(f"#{described}")).to_be_visible()
    expect(page.locator("#train-form .notice")).to_have_count(0)
    audit(page, "form errors")
    # The response has been swapped in, so the request is over: nothing may have started.
    assert idle_server.runs() == before
    assert page.url.rstrip("/") == idle_server.url


def test_clicking_a_past_run_shows_its_history(
    page: Page, idle_server: Server, past_runs: list[str]
) -> None:
    page.goto("/")
    detail = page.locator("#run-detail")
    for run_id, epochs in zip(past_runs, PAST_EPOCHS, strict=True):
        page.locator(f'#runs-list a[href="/runs/{run_id}"]').click()
        expect(detail.locator("h3")).to_contain_text(run_id)
        expect(detail.locator("h3")).to_be_focused()  # announced: the focus moved to it
        expect(detail.locator("h3 .badge")).to_have_text("Completed")
        expect(epoch_rows(page, "run-detail")).to_have_count(epochs)
        for chart in ("#run-detail-loss", "#run-detail-acc"):
            expect(page.locator(chart)).to_be_visible()
            expect(page.locator(f"{chart} svg circle")).to_have_count(2 * epochs)
            labels = page.locator(f"{chart} .tick.y").all_text_contents()
            assert_round([float(label.rstrip("%")) for label in labels])
        assert page.url == f"{idle_server.url}/runs/{run_id}"  # swapped in, at its address
    # The live panel still shows the newest run.
    expect(page.locator("#run-panel .run-id")).to_have_text(past_runs[-1])
    expect(epoch_rows(page)).to_have_count(PAST_EPOCHS[-1])


def test_two_past_runs_compare_side_by_side(
    page: Page, idle_server: Server, past_runs: list[str]
) -> None:
    page.goto("/")
    for run_id in past_runs:
        page.get_by_label(f"Compare run {run_id}").check()
    page.get_by_role("button", name="Compare selected").click()
    detail = page.locator("#run-detail")
    expect(detail.locator("h3")).to_have_text("Comparing 2 runs")
    for chart in ("#compare-loss", "#compare-acc"):
        expect(page.locator(f"{chart} polyline")).to_have_count(2)
        expect(page.locator(f"{chart} .legend .key")).to_have_count(2)
    epochs_row = detail.locator("tr", has=page.locator("th", has_text="epochs done"))
    newest_first = [str(n) for n in reversed(PAST_EPOCHS)]  # as Past runs lists them
    expect(epochs_row.locator("td")).to_have_text(newest_first)
    expect(detail.locator("th.best .badge")).to_have_text("best")
    assert page.url.rstrip("/") == idle_server.url


def test_a_past_run_downloads_its_checked_onnx_export(
    page: Page, idle_server: Server, past_runs: list[str], tmp_path: Path
) -> None:
    page.goto("/")
    page.locator(f'#runs-list a[href="/runs/{past_runs[-1]}"]').click()
    link = page.locator("#run-detail").get_by_role("link", name="Download ONNX export")
    with page.expect_download(timeout=120_000) as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == f"{past_runs[-1]}-onnx.zip"
    with zipfile.ZipFile(saved) as archive:
        assert {"model.onnx", "predict.py", "verification.json"} <= set(archive.namelist())
    page.locator(f'#runs-list a[href="/runs/{past_runs[-1]}"]').click()
    expect(page.locator("#run-detail .export-check")).to_contain_text("top-1 agreement 100.0%")


def test_the_confusion_grid_opens_the_photos_of_a_cell(
    page: Page, idle_server: Server, past_runs: list[str], screenshots: Path
) -> None:
    page.goto("/")
    page.locator(f'#runs-list a[href="/runs/{past_runs[0]}"]').click()
    evaluation = page.locator("#evaluation")
    expect(page.locator("#run-detail h3")).to_contain_text(past_runs[0])
    grid = evaluation.locator("table.confusion")  # the trainer evaluated its test photos
    expect(grid).to_be_visible()
    first_cell = grid.locator("button.cell").first
    label = first_cell.get_attribute("aria-label") or ""
    count = int(label.split()[0])
    first_cell.click()
    photos = page.locator("#evaluation-cell img")
    expect(photos).to_have_count(count)
    expect(page.locator("#evaluation-cell h5")).to_contain_text("predicted as")
    for photo in (photos.first, photos.last):  # waits until each has loaded and decoded
        expect(photo).to_have_js_property("complete", True)
        expect(photo).not_to_have_js_property("naturalWidth", 0)
    evaluation.screenshot(path=screenshots / "confusion-grid.png")


def assert_round(ticks: list[float]) -> None:
    """Axis ticks at a round step (1, 2, 2.5 or 5 times a power of ten) from zero."""
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), ticks
    assert all(math.isclose(t, ticks[0] + i * step, abs_tol=1e-9) for i, t in enumerate(ticks))


@pytest.fixture
def phone(browser: Browser, idle_server: Server) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=idle_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


def test_phone_screen_has_no_horizontal_scroll(
    phone: BrowserContext, idle_server: Server, past_runs: list[str], screenshots: Path
) -> None:
    page = phone.new_page()
    page.goto("/")
    expect(epoch_rows(page)).to_have_count(PAST_EPOCHS[-1])
    page.locator(f'#runs-list a[href="/runs/{past_runs[0]}"]').click()
    expect(epoch_rows(page, "run-detail")).to_have_count(PAST_EPOCHS[0])

    widths = page.evaluate(
        "() => ({scroll: document.scrollingElement.scrollWidth,"
        " client: document.scrollingElement.clientWidth})"
    )
    assert widths["client"] == 390
    assert widths["scroll"] <= widths["client"] + 1, f"the page scrolls sideways: {widths}"
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > innerWidth + 1)
            .map((el) => el.id || el.className || el.tagName)"""
    )
    assert too_wide == [], f"elements reach past the screen's right edge: {too_wide}"
    spilling = page.evaluate(SPILLING_OUT_OF_CARDS)
    assert spilling == [], f"elements spill out of their card: {spilling}"
    page.screenshot(path=screenshots / "phone.png", full_page=True)


# Options whose text is wider than their dropdown's box, as "select#id: text".
CUT_OFF_OPTIONS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const out = [];
  for (const select of document.querySelectorAll('main select')) {
    const style = getComputedStyle(select);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - 24;  // 24 px: the arrow
    for (const option of select.options) {
      const width = canvas.measureText(option.text).width;
      if (width > room) out.push(`${select.id}: ${option.text} (${Math.round(width)} px)`);
    }
  }
  return out;
}"""


def test_a_phone_gets_touch_wording_readable_choices_and_the_run_in_view(
    phone: BrowserContext, idle_server: Server, past_runs: list[str]
) -> None:
    page = phone.new_page()
    page.goto("/")
    expect(page.locator("#drop-zone")).to_contain_text("Tap to choose a food photo")
    expect(page.get_by_text("Ctrl+V")).to_be_hidden()
    expect(page.locator("#model-select option")).not_to_have_count(0)
    assert page.evaluate(CUT_OFF_OPTIONS) == []
    audit(page, "a phone")

    run_id = start_run_from_form(page, epochs=1)
    panel = page.locator("#run-panel")
    expect(panel.locator(".run-id")).to_have_text(run_id)
    expect(panel).to_be_in_viewport()  # not left below the form
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
