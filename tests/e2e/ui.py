"""What the browser tests do on the page: fill the form, read the live panel, record changes."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, expect

# Starting a trainer takes seconds on a busy machine and each epoch one or two more: wait long,
# and only ever for a state, never for a duration.
START_TIMEOUT = 90_000
END_TIMEOUT = 120_000
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")

# Every DOM change appends what the live panel shows then (run id, status, epoch rows, progress)
# when it differs from the last entry: the test then knows the order in which states appeared,
# however fast they went by, without sampling on a timer.
RECORDER = """
(() => {
  const log = [];
  window.__fvLog = log;
  const read = () => {
    const id = document.querySelector('#run-panel .run-id');
    const status = document.querySelector('#run-status');
    const bar = document.querySelector('#run-panel [role=progressbar]');
    const activity = document.querySelector('#run-activity');
    return {
      run: id ? id.textContent.trim() : null,
      status: status ? status.textContent.trim() : null,
      rows: document.querySelectorAll('#run-history tr.epoch-row').length,
      percent: bar ? Number(bar.getAttribute('aria-valuenow')) : null,
      activity: activity ? activity.textContent.trim() : null,
    };
  };
  const record = () => {
    const now = read();
    const last = log[log.length - 1];
    if (!last || Object.keys(now).some((key) => now[key] !== last[key])) log.push(now);
  };
  new MutationObserver(record).observe(document, {
    childList: true, subtree: true, attributes: true, characterData: true,
  });
  document.addEventListener('DOMContentLoaded', record);
})();
"""


# Files (their bytes in base64, name and type) in one DataTransfer, dispatched on the element
# that ``selector`` finds the way a browser delivers a drop; true when the page took the drop.
DROP = """({selector, files}) => {
  const data = new DataTransfer();
  for (const {b64, name, type} of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], name, {type}));
  }
  const zone = document.querySelector(selector);
  let consumed = true;
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    const event = new DragEvent(kind, {bubbles: true, cancelable: true, dataTransfer: data});
    zone.dispatchEvent(event);
    consumed = consumed && event.defaultPrevented;
  }
  return consumed;
}"""


def file_payload(data: bytes, name: str = "x.jpg", type_: str = "image/jpeg") -> dict[str, str]:
    """A file as ``DROP`` takes it: its bytes in base64, its name and type."""
    return {"b64": base64.b64encode(data).decode(), "name": name, "type": type_}


def drop_files(page: Page, selector: str, files: list[dict[str, str]]) -> bool:
    """Drop ``files`` (see :func:`file_payload`) on ``selector``; whether the page took them."""
    taken: bool = page.evaluate(DROP, {"selector": selector, "files": files})
    return taken


@dataclass(frozen=True)
class Snapshot:
    run: str | None
    status: str | None
    rows: int
    percent: int | None
    activity: str | None


def install_recorder(page: Page) -> None:
    """Record the live panel's states from the next navigation on (see ``RECORDER``)."""
    page.add_init_script(RECORDER)


def recorded(page: Page, run_id: str) -> list[Snapshot]:
    """The recorded states of run ``run_id``, in the order they appeared."""
    entries: list[dict[str, Any]] = page.evaluate("window.__fvLog")
    return [Snapshot(**entry) for entry in entries if entry["run"] == run_id]


def wait_in_page(
    page: Page, expression: str, arg: Any = None, timeout: float = START_TIMEOUT
) -> None:
    """Wait until ``expression`` (or the function it is, given ``arg``) is true in the page.
    Polled from here: Playwright's ``wait_for_function`` re-checks its predicate with eval,
    which the page's Content-Security-Policy refuses whenever the first check is false."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)


def start_run_from_form(
    page: Page,
    *,
    epochs: int,
    batch_size: int = 8,
    dataset: str = "tiny",
    model: str = "tinyvgg",
    more: dict[str, str] | None = None,
    expect_note: str = "started",
) -> str:
    """Fill and submit the training form; ``more`` fills fields by label, the ones under
    "More options" included. The id of the (first) run it queued."""
    form = page.locator("#train-form")
    form.get_by_label("Dataset", exact=True).select_option(dataset)
    form.get_by_label("Model", exact=True).select_option(model)
    form.get_by_label("Epochs", exact=True).fill(str(epochs))
    form.get_by_label("Batch size", exact=True).fill(str(batch_size))
    if more:
        form.get_by_text("More options").click()
        for label, value in more.items():
            form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Start training").click()
    notice = page.locator("#train-form .notice")
    expect(notice).to_contain_text(expect_note)
    expect(page.locator("#train-form .field-error")).to_have_count(0)
    run_id = notice.get_attribute("data-run-note")
    assert run_id and RUN_ID.fullmatch(run_id), f"no run id with {notice.inner_text()!r}"
    return run_id


def expect_live_run(page: Page, run_id: str) -> None:
    """The live panel shows run ``run_id``."""
    expect(page.locator("#run-panel .run-id")).to_have_text(run_id, timeout=START_TIMEOUT)


def epoch_rows(page: Page, region: str = "run-history") -> Any:
    return page.locator(f"#{region} tr.epoch-row")
