"""The Flask twin in the browser: the same page trains, follows a run live over ``/ws``,
cancels it, and predicts a dropped photo with the epoch it kept."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.server import Server
from tests.e2e.ui import (
    END_TIMEOUT,
    START_TIMEOUT,
    drop_files,
    epoch_rows,
    expect_live_run,
    file_payload,
    start_run_from_form,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def framework() -> str:
    return "flask"


def test_train_watch_cancel_and_predict_by_drop(page: Page, idle_server: Server) -> None:
    page.goto("/")
    run_id = start_run_from_form(page, epochs=50, more={"Patience": "0"})
    expect_live_run(page, run_id)
    status = page.locator("#run-status")
    expect(status).to_have_text("Running", timeout=START_TIMEOUT)
    expect(epoch_rows(page)).not_to_have_count(0, timeout=END_TIMEOUT)  # pushed live

    page.get_by_role("button", name="Cancel run").click()
    expect(status).to_have_text("Cancelled", timeout=60_000)
    (run,) = [r for r in idle_server.runs() if r["id"] == run_id]
    assert run["status"] == "cancelled" and run["has_model"]

    expect(page.locator("#model-select")).to_have_value(run_id)  # arrived over the socket
    sample = next((idle_server.data_dir / "tiny" / "samples").iterdir())
    assert drop_files(page, "#drop-zone", [file_payload(sample.read_bytes())])
    result = page.locator("#prediction-result")
    expect(result.locator("li.bar")).to_have_count(3)
    expect(result.locator("li.bar.top .bar-label")).to_have_text(re.compile("pizza|steak|sushi"))
    expect(result.locator(".error")).to_have_count(0)
