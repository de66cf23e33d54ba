"""A finished run trained further from its detail: "Train more epochs" queues a child whose
epochs number on from the parent's, live in the run panel and in the child's own table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import audit
from tests.e2e.server import Server
from tests.e2e.ui import END_TIMEOUT

pytestmark = pytest.mark.e2e

TRAIN = {"dataset": "tiny", "architecture": "tinyvgg", "batch_size": 8, "epochs": 2}


def test_a_finished_run_continues_with_its_epochs_numbered_on(
    page: Page, idle_server: Server
) -> None:
    parent = idle_server.api("POST", "/api/runs", TRAIN)["id"]
    idle_server.wait_idle()
    page.goto(f"/runs/{parent}")
    control = page.locator("#continue-run")
    expect(control).to_be_visible()
    audit(page, "a finished run with its Train more epochs control")

    page.get_by_label("More epochs").fill("2")
    page.get_by_role("button", name="Train more epochs").click()
    note = page.locator("#continue-note")
    expect(note).to_contain_text(re.compile(r"Run \S+ (started|queued)"))
    child = note.locator("a").get_attribute("href")
    assert child is not None and child != f"/runs/{parent}"

    # The live panel counts on from the parent's two epochs.
    expect(page.locator("#run-epoch")).to_have_text("4/4", timeout=END_TIMEOUT)
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
    note.locator("a").click()
    expect(page).to_have_url(re.compile(f"{child}$"))
    expect(page.locator("#run-parent a")).to_have_attribute("href", f"/runs/{parent}")
    rows = page.locator("#run-detail table.epochs tbody tr")
    expect(rows).to_have_count(4)
    assert [row.get_attribute("data-epoch") for row in rows.all()] == ["1", "2", "3", "4"]
    expect(page.locator("#run-detail tr.inherited")).to_have_count(2)
