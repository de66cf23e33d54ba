"""The prediction panel with a real trained model: drop, paste, choose, samples, keyboard.

The module trains one tinyvgg model on the ``tiny`` dataset through the API (the first test
watches its model arrive in the picker over the page's WebSocket), then picks a sample photo
that the model classifies right by a clear margin, asked through ``/api/predict`` first: the
page must then show that same top class, whichever way the photo reaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FileChooser, Page, expect

from tests.e2e.server import Server
from tests.e2e.ui import END_TIMEOUT, drop_files, file_payload, wait_in_page

pytestmark = pytest.mark.e2e

TRAIN = {"dataset": "tiny", "architecture": "tinyvgg", "batch_size": 8, "learning_rate": 0.003}
EPOCH_SCHEDULE = (6, 15, 30)  # train longer only when the shorter run is not good enough
MIN_TEST_ACC = 0.7  # well above chance (1/3) on 18 test photos; the margin check below decides
MIN_MARGIN = 0.2  # top-1 minus top-2 probability of the chosen sample, asked through the API
# Counts the page socket's messages once htmx has swapped them in.
COUNT_SOCKET_MESSAGES = """
window.__fvSocketMessages = 0;
document.addEventListener('htmx:wsAfterMessage', () => { window.__fvSocketMessages += 1; });
"""
PERCENT = re.compile(r"^\d{1,3}\.\d%$")

# A file from base64 bytes pasted on the document. Chromium's ClipboardEvent constructor takes
# clipboardData; should it ever ignore it, a plain Event carrying the property stands in.
PASTE = """({b64, name, type}) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  let event = new ClipboardEvent('paste', {bubbles: true, cancelable: true, clipboardData: data});
  if (!event.clipboardData || event.clipboardData.files.length !== 1) {
    event = new Event('paste', {bubbles: true, cancelable: true});
    Object.defineProperty(event, 'clipboardData', {value: data});
  }
  (document.activeElement || document.body).dispatchEvent(event);
  return event.defaultPrevented;
}"""


@dataclass(frozen=True)
class TrainedModel:
    run_id: str
    test_acc: float
    sample: Path  # a demo sample photo the model gets right by a clear margin
    sample_id: str  # its id for the sample buttons: "<dataset>/samples/<file>"
    label: str  # its class, the model's top prediction for it


@pytest.fixture(scope="module")
def trained(server: Server) -> TrainedModel:
    """A tinyvgg model trained on ``tiny``, and a sample photo it classifies right."""
    samples = sorted((server.home / "data" / "tiny" / "samples").glob("*.jpg"))
    assert samples, "the tiny dataset has no sample photos"
    tried = []
    for epochs in EPOCH_SCHEDULE:
        server.wait_idle()
        run = server.api("POST", "/api/runs", {**TRAIN, "epochs": epochs})
        server.wait_idle(timeout=END_TIMEOUT / 1000 + 30 * epochs)
        run = server.api("GET", f"/api/runs/{run['id']}")
        assert run["status"] == "completed", f"{run}\n{server.log_tail()}"
        test_acc = run["metrics"].get("test_acc") or 0.0
        tried.append((epochs, test_acc))
        if test_acc < MIN_TEST_ACC:
            continue
        for path in samples:
            label = path.stem.rsplit("_", 1)[0]
            predictions = predict_api(server, run["id"], path)
            top, second = predictions[0], predictions[1]
            if top["label"] == label and top["probability"] - second["probability"] >= MIN_MARGIN:
                return TrainedModel(
                    run_id=run["id"],
                    test_acc=test_acc,
                    sample=path,
                    sample_id=f"tiny/samples/{path.name}",
                    label=label,
                )
        tried[-1] = (epochs, test_acc, "no sample right by a clear margin")
    pytest.fail(f"no model good enough for a reliable class check (epochs, test acc): {tried}")


def predict_api(server: Server, run_id: str, path: Path) -> list[dict[str, object]]:
    response = httpx.post(
        f"{server.url}/api/predict",
        files={"file": (path.name, path.read_bytes(), "image/jpeg")},
        data={"model": run_id, "top_k": "3"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == run_id
    return body["predictions"]


def open_panel(page: Page, trained: TrainedModel) -> None:
    """The page, with the trained model chosen in the picker, once the socket's snapshot has
    replaced the picker (a later swap would take the focus away from it)."""
    page.add_init_script(COUNT_SOCKET_MESSAGES)
    page.goto("/")
    wait_in_page(page, "window.__fvSocketMessages > 0")
    expect(page.locator("#model-select")).to_have_value(trained.run_id)


def expect_bars(page: Page, label: str) -> None:
    """Three bars with percentages, the top one for ``label``, and no error."""
    result = page.locator("#prediction-result")
    bars = result.locator("li.bar")
    expect(bars).to_have_count(3)
    expect(result.locator("li.bar.top")).to_have_count(1)
    expect(result.locator("li.bar.top .bar-label")).to_have_text(label)
    expect(bars.locator(".bar-value")).to_have_text([PERCENT, PERCENT, PERCENT])
    expect(result.locator(".error")).to_have_count(0)
    values = [float(text.rstrip("%")) for text in bars.locator(".bar-value").all_inner_texts()]
    assert values == sorted(values, reverse=True), values
    assert 99.0 <= sum(values) <= 101.0, values  # top 3 of the 3 classes: all of it


def test_model_picker_fills_over_the_socket_when_the_first_run_ends(
    page: Page, server: Server, request: pytest.FixtureRequest
) -> None:
    assert server.api("GET", "/api/models") == [], "this test needs a server with no model yet"
    frames: list[str] = []
    page.on(
        "websocket",
        lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))),
    )
    page.add_init_script(COUNT_SOCKET_MESSAGES)
    page.goto("/")
    expect(page.locator("#no-models")).to_contain_text("No trained model yet")
    # The socket's snapshot (still without a model) is in: what comes next is live.
    wait_in_page(page, "window.__fvSocketMessages > 0")
    expect(page.locator("#no-models")).to_be_visible()
    expect(page.locator("#model-select")).to_have_count(0)
    expect(page.locator("#model-picker label")).to_have_count(0)  # no label without a control
    expect(page.locator("button.sample")).to_have_count(0)  # nothing to try them on yet
    assert not any('id="model-select"' in frame for frame in frames), frames
    page.evaluate("window.__notReloaded = true")

    model = request.getfixturevalue("trained")  # trains through the API while the page is open

    select = page.locator("#model-select")
    expect(select).to_be_visible(timeout=END_TIMEOUT)
    expect(select).to_have_value(model.run_id)
    expect(select.locator("option").first).to_contain_text("tinyvgg · tiny")
    expect(page.locator("#no-models")).to_have_count(0)
    expect(page.locator("button.sample").first).to_be_visible()  # the samples came live too
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert any('id="model-select"' in frame for frame in frames), "not pushed over the socket"


def test_drop_a_photo(page: Page, trained: TrainedModel, screenshots: Path) -> None:
    open_panel(page, trained)
    preview = page.locator("#drop-preview")
    expect(preview).to_be_hidden()
    dropped = drop_files(page, "#drop-zone", [file_payload(trained.sample.read_bytes())])
    assert dropped, "the drop zone did not take the drop"
    expect_bars(page, trained.label)
    expect(preview).to_be_visible()
    expect(page.locator("#drop-zone")).not_to_have_class(re.compile(r"\bdragging\b"))
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0"), "preview not drawn"
    page.screenshot(path=screenshots / "prediction.png", full_page=True)


def test_paste_a_photo(page: Page, trained: TrainedModel) -> None:
    open_panel(page, trained)
    pasted = page.evaluate(PASTE, file_payload(trained.sample.read_bytes()))
    assert pasted, "the paste was not taken"
    expect_bars(page, trained.label)
    expect(page.locator("#drop-preview")).to_be_visible()


def test_choose_a_photo(page: Page, trained: TrainedModel) -> None:
    open_panel(page, trained)
    page.set_input_files("#predict-file", trained.sample)
    expect_bars(page, trained.label)
    expect(page.locator("#drop-preview")).to_be_visible()


def test_dropping_a_text_file_explains_inline(page: Page, trained: TrainedModel) -> None:
    open_panel(page, trained)
    assert drop_files(page, "#drop-zone", [file_payload(b"hello", "notes.txt", "text/plain")])
    result = page.locator("#prediction-result")
    error = result.locator("p.error[role=alert]")
    expect(error).to_contain_text("not an image")
    expect(result.locator("li.bar")).to_have_count(0)
    expect(page.locator("#drop-preview")).to_be_hidden()


def test_sample_button(page: Page, trained: TrainedModel) -> None:
    open_panel(page, trained)
    buttons = page.locator("button.sample")
    expect(buttons.first).to_be_visible()
    button = page.locator(f'button.sample[data-preview="/samples/{trained.sample_id}"]')
    expect(button).to_have_count(1)
    button.click()
    expect_bars(page, trained.label)
    expect(page.locator("#drop-preview")).to_be_visible()


def test_keyboard_opens_the_file_chooser(page: Page, trained: TrainedModel) -> None:
    # Playwright turns on file chooser interception when the first listener is added, without
    # waiting for the browser to confirm: listen from the start, not only around the key press.
    choosers: list[FileChooser] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    open_panel(page, trained)
    zone = page.locator("#drop-zone")
    page.locator("#model-select").focus()
    page.keyboard.press("Tab")
    expect(zone).to_be_focused()
    assert zone.evaluate("el => el.matches(':focus-visible')")
    style = zone.evaluate(
        "el => { const s = getComputedStyle(el);"
        " return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
    )
    assert style["style"] != "none" and style["width"] > 0, f"no visible focus: {style}"
    # One tab stop for the drop zone: the hidden file input behind it is not a second,
    # invisible one; the next stop is the first sample.
    page.keyboard.press("Tab")
    expect(page.locator("button.sample").first).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(zone).to_be_focused()

    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")
    chooser = chooser_info.value
    assert chooser.element.get_attribute("id") == "predict-file"
    assert not chooser.is_multiple()
    assert len(choosers) == 1, choosers
    chooser.set_files(trained.sample)
    expect_bars(page, trained.label)
