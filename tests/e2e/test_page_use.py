"""The page as a person uses it, over a server holding a completed model and a newer one that
was cancelled after its first epoch: the model picker's default and a choice that stays, past
runs that open in view at their own address and can be deleted from the page, lists that
follow every open tab, a prediction that shows its progress, notes that do not go stale."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, Route, expect

from tests.e2e.a11y import audit
from tests.e2e.server import Server
from tests.e2e.ui import (
    END_TIMEOUT,
    drop_files,
    file_payload,
    start_run_from_form,
    wait_in_page,
)

pytestmark = pytest.mark.e2e

TRAIN = {"dataset": "tiny", "architecture": "tinyvgg", "batch_size": 8, "learning_rate": 0.003}
FACTS = re.compile(
    r"^(\d+ epochs?|epoch \d+ of \d+) · lr [\d.e-]+( · (test|validation) acc \d+\.\d%)?$"
)
COUNT_SOCKET_MESSAGES = """
window.__fvSocketMessages = 0;
document.addEventListener('htmx:wsAfterMessage', () => { window.__fvSocketMessages += 1; });
"""


@dataclass(frozen=True)
class Models:
    completed: str  # the best finished model
    cancelled: str  # newer, cancelled after its first epoch: has a model, is not the default
    sample: Path


def train(server: Server, **options: Any) -> dict[str, Any]:
    server.wait_idle()
    run: dict[str, Any] = server.api("POST", "/api/runs", {**TRAIN, **options})
    return run


@pytest.fixture(scope="module")
def models(server: Server) -> Models:
    completed = train(server, epochs=3)
    server.wait_idle()
    cancelled = train(server, epochs=200, patience=0)
    server.wait_for(lambda: server.api("GET", f"/api/runs/{cancelled['id']}")["has_model"])
    server.api("POST", f"/api/runs/{cancelled['id']}/cancel")
    runs = {run["id"]: run for run in server.wait_idle()}
    assert runs[completed["id"]]["status"] == "completed", server.log_tail()
    assert runs[cancelled["id"]]["status"] == "cancelled" and runs[cancelled["id"]]["has_model"]
    samples = sorted((server.data_dir / "tiny" / "samples").glob("*.jpg"))
    return Models(completed["id"], cancelled["id"], samples[0])


def open_page(page: Page, path: str = "/") -> None:
    """The page once its socket's snapshot is in (later swaps are then live updates)."""
    page.add_init_script(COUNT_SOCKET_MESSAGES)
    page.goto(path)
    wait_in_page(page, "window.__fvSocketMessages > 0")


def option_text(page: Page, run_id: str) -> str:
    return page.locator(f'#model-select option[value="{run_id}"]').inner_text().strip()


def test_the_picker_offers_the_best_model_and_keeps_a_choice(
    page: Page, idle_server: Server, models: Models
) -> None:
    open_page(page)
    picker = page.locator("#model-select")
    # The newer model was cancelled: the default is the finished one, never silently it.
    expect(picker).to_have_value(models.completed)
    expect(picker.locator(f'option[value="{models.cancelled}"]')).to_contain_text(
        re.compile(r"\(cancelled, kept epoch \d+\)")
    )
    expect(page.get_by_label("Trained model")).to_have_count(1)
    audit(page, "models in the picker")

    picker.select_option(models.cancelled)
    chosen = option_text(page, models.cancelled)
    other = train(idle_server, epochs=1)  # as if from another tab: it starts, then finishes
    expect(picker.locator(f'option[value="{other["id"]}"]')).to_have_count(1, timeout=END_TIMEOUT)
    expect(page.locator(f'#runs-list a[href="/runs/{other["id"]}"] .badge')).to_have_text(
        "completed", timeout=END_TIMEOUT
    )
    expect(picker).to_have_value(models.cancelled)  # the person's choice stayed

    assert drop_files(page, "#drop-zone", [file_payload(models.sample.read_bytes())])
    expect(page.locator("#prediction-result li.bar")).to_have_count(3)
    expect(page.locator("#prediction-result .model-used")).to_contain_text(f"Model: {chosen}")
    idle_server.api("DELETE", f"/api/runs/{other['id']}")


def test_a_past_run_opens_in_view_at_its_own_address(
    page: Page, idle_server: Server, models: Models
) -> None:
    open_page(page)
    link = page.locator(f'#runs-list a[href="/runs/{models.completed}"]')
    link.click()
    title = page.locator("#detail-title")
    expect(title).to_contain_text(models.completed)
    expect(title).to_be_focused()
    expect(title).to_be_in_viewport()
    expect(page).to_have_url(re.compile(rf"/runs/{models.completed}$"))
    audit(page, "a past run's detail")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#train-form")).to_be_visible()

    page.goto(f"/runs/{models.completed}")  # opened directly: the whole page, styled
    expect(page.locator("header.topbar")).to_be_visible()
    expect(title).to_contain_text(models.completed)
    expect(title).to_be_in_viewport()
    chart = page.locator("#run-detail-loss svg")
    assert chart.bounding_box()["width"] < 700, "the chart is not laid out by the stylesheet"
    assert (
        page.locator("#run-detail-loss polyline").first.evaluate("el => getComputedStyle(el).fill")
        == "none"
    ), "the chart's lines are filled black: no stylesheet"
    expect(page.locator("#run-panel")).to_be_visible()


def test_runs_are_deleted_from_the_page_and_every_tab_follows(
    page: Page, context: BrowserContext, idle_server: Server, models: Models
) -> None:
    doomed = train(idle_server, epochs=1)["id"]
    by_api = train(idle_server, epochs=1)["id"]
    idle_server.wait_idle()
    open_page(page)
    other = context.new_page()
    open_page(other)
    for tab in (page, other):
        expect(tab.locator(f'#model-select option[value="{doomed}"]')).to_have_count(1)
    facts = page.locator("#runs-list .run-facts")
    expect(facts.first).to_have_text(FACTS)
    assert len(set(facts.all_inner_texts())) > 1, "the entries still look alike"

    page.locator(f'#runs-list a[href="/runs/{doomed}"]').click()
    expect(page.locator("#detail-title")).to_contain_text(doomed)
    asked: list[str] = []

    def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    page.get_by_role("button", name="Delete this run").click()
    expect(page.locator("#run-deleted")).to_have_text(f"Run {doomed} deleted.")
    assert asked and doomed in asked[0] and "cannot be undone" in asked[0]
    expect(page).to_have_url(re.compile(r"/$"))
    audit(page, "a run deleted")

    idle_server.api("DELETE", f"/api/runs/{by_api}")  # through the API: the pages follow too
    for tab in (page, other):
        for gone in (doomed, by_api):
            expect(tab.locator(f'#runs-list a[href="/runs/{gone}"]')).to_have_count(0)
            expect(tab.locator(f'#model-select option[value="{gone}"]')).to_have_count(0)
        expect(tab.locator("#model-select")).to_have_value(models.completed)


def test_a_prediction_shows_its_progress_and_only_decoded_previews(
    page: Page, idle_server: Server, models: Models
) -> None:
    open_page(page)
    photo = models.sample.read_bytes()
    preview = page.locator("#drop-preview")
    assert drop_files(page, "#drop-zone", [file_payload(photo)])
    expect(page.locator("#prediction-result li.bar")).to_have_count(3)
    expect(preview).to_be_visible()

    held: list[Route] = []
    page.route("**/predict", lambda route: held.append(route))  # a slow upload: held back
    assert drop_files(page, "#drop-zone", [file_payload(photo)])
    indicator = page.locator("#predicting")
    expect(indicator).to_be_visible()
    expect(indicator).to_have_text("Predicting…")
    expect(page.locator("#prediction-result li.bar")).to_have_count(0)  # old bars gone at once
    audit(page, "a prediction on its way")
    for _ in range(100):  # the route's handler runs while Playwright handles its events
        if held:
            break
        page.evaluate("0")
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/predict")
    expect(page.locator("#prediction-result li.bar")).to_have_count(3)
    expect(indicator).to_be_hidden()

    assert drop_files(page, "#drop-zone", [file_payload(b"hello", "notes.txt", "text/plain")])
    expect(page.locator("#prediction-result .error")).to_contain_text("not an image")
    expect(preview).to_be_hidden()  # not the earlier photo beside "not an image"

    broken = photo[: len(photo) // 2]  # a JPEG cut off half-way
    assert drop_files(page, "#drop-zone", [file_payload(broken, "cut.jpg")])
    expect(page.locator("#prediction-result .error")).to_be_visible()
    expect(page.locator("#prediction-result li.bar")).to_have_count(0)
    expect(preview).to_be_hidden()
    audit(page, "a refused photo")


def test_a_second_run_joins_the_queue_and_its_note_goes_once_it_ended(
    page: Page, idle_server: Server
) -> None:
    open_page(page)
    start_run_from_form(page, epochs=2)
    page.locator("#train-form").get_by_role("button", name="Queue run").click()
    note = page.locator("#train-form .notice")
    expect(note).to_contain_text("queued")
    queued = note.get_attribute("data-run-note")
    expect(page.locator("#run-queue")).to_contain_text("tinyvgg · tiny")
    expect(page.locator("#run-panel")).to_have_attribute(
        "data-run", str(queued), timeout=END_TIMEOUT
    )
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
    expect(note).to_have_count(0)
    expect(page.locator("#run-queue li")).to_have_count(0)
    expect(page.locator("#train-submit")).to_have_text("Start training")


def test_the_form_queues_a_sweep_that_opens_in_the_comparison(
    page: Page, idle_server: Server
) -> None:
    open_page(page)
    form = page.locator("#train-form")
    form.get_by_text("Try several (a sweep)").click()
    form.get_by_label("Also try learning rates").fill("0.001")
    start_run_from_form(page, epochs=1, expect_note="runs, listed together below")
    sweep = page.locator("#runs-list li.sweep").first
    expect(sweep).to_contain_text("2 runs")
    idle_server.wait_idle()
    expect(sweep).to_contain_text(" · best ", timeout=END_TIMEOUT)
    sweep.get_by_role("link", name="Compare the sweep").click()
    expect(page.locator("#detail-title")).to_have_text("Comparing 2 runs")
    expect(page.locator("#run-detail table.compare")).to_contain_text("learning_rate")


def test_a_dataset_prepared_by_a_run_says_so_without_a_reload(
    page: Page, idle_server: Server
) -> None:
    open_page(page)
    demo = page.locator('#f-dataset option[value="demo"]')
    expect(demo).to_have_text("demo · made on first use, offline")
    page.evaluate("window.__notReloaded = true")
    train(idle_server, dataset="demo", epochs=1, dry_run=True)
    expect(demo).to_have_text(re.compile(r"^demo · \d+ train / \d+ test$"), timeout=END_TIMEOUT)
    assert page.evaluate("window.__notReloaded === true")
    idle_server.wait_idle()
