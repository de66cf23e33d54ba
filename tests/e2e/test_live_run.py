"""A run started from the page, watched live: progress, reloads, a second tab, cancelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.a11y import audit, contrast
from tests.e2e.server import ACTIVE, Server
from tests.e2e.ui import (
    END_TIMEOUT,
    START_TIMEOUT,
    epoch_rows,
    expect_live_run,
    install_recorder,
    recorded,
    start_run_from_form,
    wait_in_page,
)

pytestmark = pytest.mark.e2e
NO_EARLY_STOP = {"Patience": "0"}  # every epoch asked for runs


# Every text the screen readers' live region is given, in order.
ANNOUNCEMENTS = """
window.__fvSaid = [];
document.addEventListener('DOMContentLoaded', () => {
  const region = document.getElementById('announcer');
  new MutationObserver(() => window.__fvSaid.push(region.textContent.trim()))
    .observe(region, {childList: true, characterData: true, subtree: true});
});
"""


def test_run_goes_live_from_the_form_to_completed(
    page: Page, idle_server: Server, screenshots: Path
) -> None:
    install_recorder(page)
    page.add_init_script(ANNOUNCEMENTS)
    page.goto("/")
    start = page.get_by_role("button", name="Start training")
    start.focus()
    assert start.evaluate("el => el.matches(':focus-visible')")
    ring = start.evaluate("el => getComputedStyle(el).outlineColor")
    assert contrast(ring, "rgb(255, 255, 255)") >= 3, f"focus ring {ring} is too faint on white"
    run_id = start_run_from_form(page, epochs=3, batch_size=8)
    expect_live_run(page, run_id)
    status = page.locator("#run-status")
    expect(status).to_have_text("Running", timeout=START_TIMEOUT)
    expect(epoch_rows(page)).to_have_count(3, timeout=END_TIMEOUT)
    expect(status).to_have_text("Completed", timeout=END_TIMEOUT)

    states = recorded(page, run_id)
    statuses = list(dict.fromkeys(s.status for s in states))
    assert statuses.index("Running") < statuses.index("Completed"), statuses
    # Rows arrive one per epoch message, never all at once at the end: from the run's empty
    # table on, the recorded row counts are exactly 0, 1, 2, 3.
    row_counts = [s.rows for s in states]
    assert 0 in row_counts, f"the new run never showed an empty table: {row_counts}"
    since_empty = row_counts[len(row_counts) - row_counts[::-1].index(0) - 1 :]
    grown = [n for i, n in enumerate(since_empty) if i == 0 or n != since_empty[i - 1]]
    assert grown == [0, 1, 2, 3], f"rows did not grow one by one: {row_counts}"
    percents = [s.percent for s in states if s.percent is not None]
    assert percents == sorted(percents), f"progress went backwards: {percents}"
    assert len(set(percents)) >= 3, f"progress did not move live: {percents}"
    assert percents[-1] == 100
    expect(page.locator("#run-panel [role=progressbar]")).to_have_attribute("aria-valuenow", "100")

    for chart in ("#run-history-loss", "#run-history-acc"):
        expect(page.locator(f"{chart} svg polyline")).to_have_count(2)  # train and validation
        expect(page.locator(chart)).to_be_visible()
    expect(page.locator("#cancel-button")).to_have_count(0)
    expect(page.locator(f'#runs-list a[href="/runs/{run_id}"] .badge')).to_have_text("completed")
    expect(page.locator("#announcer")).to_contain_text("Run completed: test accuracy")
    said = page.evaluate("window.__fvSaid")
    epochs_said = [text for text in said if text.startswith("Epoch")]
    assert len(epochs_said) == 3, said  # one short sentence per epoch, not every step
    assert re.fullmatch(r"Epoch 1 of 3 done: validation accuracy \d+%\.", epochs_said[0]), said
    assert said[0].startswith("Run started: tinyvgg on tiny, 3 epochs"), said
    expect(page.locator("#run-panel")).not_to_have_attribute("aria-live", re.compile(".+"))
    audit(page, "a finished run")

    page.screenshot(path=screenshots / "finished-run.png", full_page=True)


def test_reload_and_second_tab_show_the_history_and_keep_following(
    page: Page, context: BrowserContext, idle_server: Server
) -> None:
    epochs = 10
    page.goto("/")
    run_id = start_run_from_form(page, epochs=epochs, more=NO_EARLY_STOP)
    expect_live_run(page, run_id)
    rows = epoch_rows(page)
    expect(rows.nth(1)).to_be_attached(timeout=END_TIMEOUT)  # at least 2 epochs done
    seen = rows.count()

    page.reload(wait_until="domcontentloaded")
    # Rendered into the page itself: present at once, before the socket sends anything.
    assert page.locator("#run-panel .run-id").inner_text() == run_id
    after_reload = rows.count()
    assert seen <= after_reload < epochs, (seen, after_reload)
    expect(rows.first).to_have_attribute("data-epoch", "1")
    wait_for_more_rows(page, after_reload)  # and the next ones still come, over the socket

    other = context.new_page()
    other.goto("/", wait_until="domcontentloaded")
    other_rows = epoch_rows(other)
    assert other.locator("#run-panel .run-id").inner_text() == run_id
    in_other = other_rows.count()
    assert after_reload < in_other < epochs, (after_reload, in_other)
    wait_for_more_rows(other, in_other)

    for tab, tab_rows in ((page, rows), (other, other_rows)):
        expect(tab_rows).to_have_count(epochs, timeout=END_TIMEOUT)
        expect(tab.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
        numbers = [int(n) for n in tab_rows.evaluate_all("rs => rs.map(r => r.dataset.epoch)")]
        assert numbers == list(range(1, epochs + 1))


def wait_for_more_rows(page: Page, than: int) -> None:
    wait_in_page(
        page,
        "n => document.querySelectorAll('#run-history tr.epoch-row').length > n",
        arg=than,
        timeout=END_TIMEOUT,
    )


def test_cancel_a_running_run(page: Page, idle_server: Server) -> None:
    page.goto("/")
    run_id = start_run_from_form(page, epochs=50, more=NO_EARLY_STOP)
    expect_live_run(page, run_id)
    status = page.locator("#run-status")
    expect(status).to_have_text("Running", timeout=START_TIMEOUT)

    # One run at a time: a second one waits in the queue, where it can be cancelled.
    page.locator("#train-form").get_by_role("button", name="Queue run").click()
    expect(page.locator("#train-form [role=status]")).to_contain_text("queued (#1)")
    (waiting,) = [r["id"] for r in idle_server.runs() if r["status"] == "queued"]
    page.get_by_role("button", name=f"Cancel queued run {waiting}").click()
    expect(page.locator("#run-queue li")).to_have_count(0)
    assert [r["id"] for r in idle_server.runs() if r["status"] in ACTIVE] == [run_id]

    expect(page.locator("#run-history tr.epoch-row")).not_to_have_count(0, timeout=END_TIMEOUT)
    page.get_by_role("button", name="Cancel run").focus()
    page.keyboard.press("Enter")
    expect(status).to_have_text(re.compile(r"^(Cancelling…|Cancelled)$"))
    expect(status).to_have_text("Cancelled", timeout=60_000)
    expect(status).to_be_focused()  # not thrown back to the top of the page
    expect(page.locator("#cancel-button")).to_have_count(0)
    expect(page.locator(f'#runs-list a[href="/runs/{run_id}"] .badge')).to_have_text("cancelled")

    (run,) = [r for r in idle_server.runs() if r["id"] == run_id]
    assert run["status"] == "cancelled"
    assert run["epoch"] < 50
    # The panel counts the epochs that finished, as the picker names the one it kept.
    finished = page.locator("#run-history tr.epoch-row").count()
    expect(page.locator("#run-epoch")).to_have_text(f"{finished}/50")
    kept = page.locator(f'#model-select option[value="{run_id}"]')
    expect(kept).to_contain_text("cancelled, kept epoch")
    kept_epoch = int(re.findall(r"kept epoch (\d+)", kept.inner_text())[0])
    assert 1 <= kept_epoch <= finished, (kept_epoch, finished)
    audit(page, "a cancelled run")


def test_a_frozen_backbone_shows_its_feature_pass_then_trains_its_head(
    page: Page, idle_server: Server
) -> None:
    """The default model (EfficientNet-Lite0, frozen) at 64 px so that it stays quick."""
    install_recorder(page)
    page.goto("/")
    run_id = start_run_from_form(
        page, epochs=3, model="efficientnet_lite0", more={"Image size": "64"}
    )
    expect_live_run(page, run_id)
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)

    activities = [s.activity for s in recorded(page, run_id) if s.activity]
    assert any(a.startswith("Extracting features") for a in activities), activities
    percents = [s.percent for s in recorded(page, run_id) if s.percent is not None]
    assert percents == sorted(percents), f"progress went backwards: {percents}"
    history = page.locator("#run-history")
    expect(history.locator("th")).to_have_text(
        ["Train", "Validation", "Epoch", "loss", "acc", "loss", "acc", "Time"]
    )
    expect(history.locator(".final-test")).to_contain_text("Test split, evaluated once")
    expect(page.locator("#run-test-acc")).to_have_count(1)
