"""Bringing your own photos, in a real browser: make a dataset, add three classes, drop photos
on one, choose several for another, choose a whole folder for the third, drop a zip of copies,
read the reports, watch the dataset reach the training form over the page's socket, train on
it and predict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.server import Server
from tests.e2e.ui import (
    END_TIMEOUT,
    drop_files,
    expect_live_run,
    file_payload,
    start_run_from_form,
)
from tests.utils.factories import make_zip
from tests.utils.photos import class_photos, every_format

pytestmark = pytest.mark.e2e
COUNTS = re.compile(r"\d+ train · \d+ test")


def class_section(page: Page, label: str) -> Locator:
    return page.locator(f'section.ds-class[aria-label="class {label}"]')


def upload_done(page: Page, files: int) -> None:
    expect(page.locator("#upload-text")).to_contain_text(
        f"Done: {files} files sent", timeout=END_TIMEOUT
    )


def test_photos_from_disk_become_a_dataset_that_trains_and_predicts(
    page: Page, idle_server: Server, tmp_path: Path, screenshots: Path
) -> None:
    photos = {label: class_photos(label, 8) for label in ("pizza", "steak", "sushi")}
    page.goto("/")
    page.get_by_label("New dataset").fill("my_food")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("#datasets-panel .notice")).to_contain_text("my_food is ready for photos")
    # Over the page's socket, with no reload: the training form offers the new dataset.
    expect(page.locator('#f-dataset option[value="my_food"]')).to_have_count(1)
    for label in photos:
        page.get_by_label("Add a class").fill(label)
        page.get_by_role("button", name="Add class").click()
        expect(class_section(page, label)).to_be_visible()

    dropped = [
        file_payload(data, name)
        for name, data in {**photos["pizza"], "notes.txt": b"not a photo"}.items()
    ]
    assert drop_files(page, 'section.ds-class[aria-label="class pizza"] form.ds-drop', dropped)
    upload_done(page, len(dropped))
    report = page.locator("#upload-report")
    expect(report).to_contain_text(f"{len(photos['pizza'])} added, 1 skipped")
    expect(report).to_contain_text("notes.txt: the file is not an image")

    chosen = []
    for name, data in photos["steak"].items():
        path = tmp_path / "steak" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        chosen.append(path)
    class_section(page, "steak").locator("input.photo-input").set_input_files(chosen)
    upload_done(page, len(chosen))

    folder = tmp_path / "sushi folder"
    (folder / "more").mkdir(parents=True)
    for name, data in photos["sushi"].items():
        (folder / name).write_bytes(data)
    (folder / "more" / "phone.heic").write_bytes(every_format(seed=70)["photo.heic"])
    class_section(page, "sushi").locator("input.folder-input").set_input_files(folder)
    upload_done(page, len(photos["sushi"]) + 1)
    expect(report).to_contain_text(f"{len(photos['sushi']) + 1} added")

    archive = tmp_path / "again.zip"
    archive.write_bytes(make_zip({f"steak/{name}": data for name, data in photos["steak"].items()}))
    page.locator("input.zip-input").set_input_files(archive)
    upload_done(page, 1)
    expect(report).to_contain_text(f"0 added, {len(photos['steak'])} already there")

    for label, files in photos.items():
        total = len(files) + (1 if label == "sushi" else 0)
        counts = class_section(page, label).locator(".counts")
        expect(counts).to_have_text(COUNTS)
        train, test = (int(part.split()[0]) for part in counts.inner_text().split("·"))
        assert train + test == total and test >= 1
        expect(class_section(page, label).locator(".thumbs img")).to_have_count(total)
    expect(page.locator("#dataset-ready")).to_be_visible()
    thumb_width = page.evaluate(
        "() => document.querySelector('.ds-class .thumbs img').naturalWidth"
    )
    assert 0 < thumb_width <= 128
    page.screenshot(path=str(screenshots / "datasets-page.png"), full_page=True)

    run_id = start_run_from_form(page, epochs=2, dataset="my_food")
    expect_live_run(page, run_id)
    expect(page.locator("#run-status")).to_have_text("Completed", timeout=END_TIMEOUT)
    expect(page.locator(f'#model-select option[value="{run_id}"]')).to_have_count(1)
    page.locator("#model-select").select_option(run_id)
    phone_photo = tmp_path / "IMG_0042.HEIC"
    phone_photo.write_bytes(every_format(seed=71)["photo.heic"])
    page.locator("#predict-file").set_input_files(phone_photo)
    bars = page.locator("#prediction-result .bar-label")
    expect(bars.first).to_be_visible()
    assert set(bars.all_inner_texts()) <= set(photos)
