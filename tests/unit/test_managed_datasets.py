"""Managed datasets on disk: photos checked and named by content, split by their hash, moved in
whole or not at all under the dataset's lock, and the per-file report that says what happened."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from food_vision.datasets import managed, placing
from food_vision.datasets.archive import UnsafeArchiveError
from food_vision.datasets.importing import check_folder, import_archive, import_folder
from food_vision.datasets.intake import (
    Candidate,
    ImportReport,
    PhotoLimits,
    check_photo,
    check_photos,
    content_id,
    split_for,
)
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.manifest import MANIFEST_FILE, read_manifest
from food_vision.datasets.sources import find_photos
from food_vision.images import CorruptImage, ImageRejected, NotAnImage
from food_vision.settings import Settings
from tests.utils.factories import image_bytes, make_zip
from tests.utils.photos import class_photos, every_format, picture

LIMITS = PhotoLimits(max_bytes=2 * 1024 * 1024, max_pixels=50_000_000)


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def three_classes(tmp_path: Path) -> Path:
    files = {
        f"{label}/{name}": data
        for label in ("pizza", "steak", "sushi")
        for name, data in class_photos(label, 6).items()
    }
    return write(tmp_path / "photos", files)


# ---------------------------------------------------------------------------- checking photos


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"just words", "not an image"),
        (image_bytes(picture(1), "JPEG")[:200], "truncated or corrupt"),
        (image_bytes(picture(1, size=(20, 400)), "PNG"), "too small: 20x400"),
        (image_bytes(picture(1), "ICO"), "ICO images are not accepted"),
        (b"\0" * (3 * 1024 * 1024), "too large: 3.0 MiB, over the 2.0 MiB limit"),
    ],
)
def test_each_refusal_has_a_reason_a_person_understands(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = write(tmp_path, {"file": data}) / "file"
    with pytest.raises(ImageRejected, match=reason):
        check_photo(Candidate("file", path, "pizza"), LIMITS)


def test_a_photo_is_named_by_its_content_and_gets_a_small_thumbnail(tmp_path: Path) -> None:
    data = image_bytes(picture(3, size=(640, 480)), "HEIF")
    path = write(tmp_path, {"IMG_0001.HEIC": data}) / "IMG_0001.HEIC"
    checked = check_photo(Candidate("IMG_0001.HEIC", path, "pizza"), LIMITS, tmp_path / "thumbs")
    assert checked.image_id == content_id(path) and len(checked.image_id) == 32
    assert checked.extension == ".heic"
    assert checked.thumbnail is not None
    with Image.open(checked.thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 128


def test_every_format_passes_and_the_report_keeps_the_order(tmp_path: Path) -> None:
    files = {**every_format(), "notes.txt": b"shopping list"}
    folder = write(tmp_path, files)
    candidates = [Candidate(name, folder / name, "pizza") for name in files]
    report = ImportReport()
    checked = check_photos(candidates, LIMITS, report)
    assert [c.candidate.file for c in checked] == list(every_format())
    assert report.skipped == [{"file": "notes.txt", "reason": report.skipped[0]["reason"]}]


def test_the_split_follows_the_content_hash() -> None:
    ids = [f"{n:08x}" + "0" * 24 for n in range(0, 16**8, 16**8 // 1000)]
    tests = [split_for(image_id, 0.2) for image_id in ids].count("test")
    assert 180 <= tests <= 220
    assert all(split_for(i, 0.2) == split_for(i, 0.2) for i in ids)
    assert split_for("0" * 32, 0.2) == "test" and split_for("f" * 32, 0.5) == "train"


# ---------------------------------------------------------------------------- finding photos


def test_class_folders_inside_a_wrapper_folder_are_found(tmp_path: Path) -> None:
    jpeg = image_bytes(picture(1), "JPEG")
    folder = write(
        tmp_path / "zip",
        {
            "my food/pizza/a.jpg": jpeg,
            "my food/pizza/2023/b.jpg": jpeg,
            "my food/sushi/c.jpg": jpeg,
            "my food/empty/.keep": b"",
            "my food/.DS_Store": b"x",
            "__MACOSX/my food/pizza/._a.jpg": b"x",
        },
    )
    (folder / "my food" / "bad:name").mkdir()
    (folder / "my food" / "bad:name" / "d.jpg").write_bytes(jpeg)
    report = ImportReport()
    found = find_photos(folder, report)
    assert [(c.file, c.label, c.split) for c in found.candidates] == [
        ("my food/pizza/a.jpg", "pizza", None),
        ("my food/pizza/2023/b.jpg", "pizza", None),
        ("my food/sushi/c.jpg", "sushi", None),
    ]
    assert found.labels == ["empty", "pizza", "sushi"]
    assert [item["file"] for item in report.skipped] == ["my food/bad:name/d.jpg"]
    assert "characters a folder name cannot" in report.skipped[0]["reason"]


def test_an_archive_split_is_kept_and_stray_files_are_reported(tmp_path: Path) -> None:
    jpeg = image_bytes(picture(1), "JPEG")
    folder = write(
        tmp_path / "zip",
        {"train/pizza/a.jpg": jpeg, "test/pizza/b.jpg": jpeg, "train/readme.txt": b"hi"},
    )
    os.symlink("/etc/passwd", folder / "test" / "pizza" / "link.jpg")
    report = ImportReport()
    found = find_photos(folder, report)
    assert [(c.file, c.split) for c in found.candidates] == [
        ("train/pizza/a.jpg", "train"),
        ("test/pizza/b.jpg", "test"),
    ]
    reasons = {item["file"]: item["reason"] for item in report.skipped}
    assert reasons["train/readme.txt"].startswith("not inside a class folder")
    assert reasons["test/pizza/link.jpg"].startswith("a link")


# ---------------------------------------------------------------------------- the dataset


def test_a_new_dataset_is_empty_and_names_what_it_lacks(data_dir: Path) -> None:
    manifest = managed.create_dataset(data_dir, "mine", test_fraction=0.25)
    assert manifest.split.test_fraction == 0.25
    assert manifest.problems() == ["add at least two classes (it has 0)"]
    assert json.loads((data_dir / "mine" / MANIFEST_FILE).read_text())["name"] == "mine"


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("mine", managed.DatasetExists, "exists already"),
        ("MINE", managed.DatasetExists, "'mine' exists already"),
        ("demo", managed.DatasetExists, "built-in"),
        ("../mine", ValueError, "not a dataset name"),
        ("con", ValueError, "reserved"),
    ],
)
def test_names_taken_or_unusable_are_refused(
    data_dir: Path, name: str, error: type, reason: str
) -> None:
    managed.create_dataset(data_dir, "mine")
    with pytest.raises(error, match=reason):
        managed.create_dataset(data_dir, name)


def test_importing_a_folder_gives_a_trainable_dataset_and_a_full_report(
    data_dir: Path, three_classes: Path
) -> None:
    (three_classes / "pizza" / "notes.txt").write_text("x")
    (three_classes / "sushi" / "copy.jpg").write_bytes(
        (three_classes / "sushi" / "sushi_00.jpg").read_bytes()
    )
    managed.create_dataset(data_dir, "mine")
    report = import_folder(data_dir, "mine", three_classes, LIMITS, move=False)
    assert len(report.accepted) == sum(
        len(list((three_classes / c).glob("*_*.jpg"))) for c in ("pizza", "steak", "sushi")
    )
    assert report.duplicates == [{"file": "sushi/sushi_00.jpg", "same_as": "sushi/copy.jpg"}]
    assert [item["file"] for item in report.skipped] == ["pizza/notes.txt"]
    manifest = read_manifest(data_dir / "mine")
    assert manifest.problems() == []
    assert report.counts == manifest.count_table()
    summary = validate_image_folder(data_dir / "mine")
    assert summary.classes == ("pizza", "steak", "sushi")
    assert summary.num_train + summary.num_test == len(report.accepted)
    for item in report.accepted:
        stored = data_dir / "mine" / item["split"] / item["label"] / f"{item['id']}.jpg"
        assert stored.is_file() and (data_dir / "mine" / ".thumbs" / f"{item['id']}.jpg").is_file()
    assert (three_classes / "pizza" / "pizza_00.jpg").is_file()  # copied, not moved


def test_adding_photos_never_moves_earlier_ones_and_copies_land_nowhere_new(
    data_dir: Path, three_classes: Path, tmp_path: Path
) -> None:
    managed.create_dataset(data_dir, "mine")
    import_folder(data_dir, "mine", three_classes, LIMITS, move=False)
    before = tree(data_dir / "mine")
    more = write(tmp_path / "more", {f"pizza/{n}": d for n, d in class_photos("pizza", 12).items()})
    report = import_folder(data_dir, "mine", more, LIMITS, move=False)
    assert set(before) <= set(tree(data_dir / "mine"))
    assert {d["file"] for d in report.duplicates} == {f"pizza/pizza_{n:02d}.jpg" for n in range(6)}
    assert all(d["same_as"].startswith(("train/pizza/", "test/pizza/")) for d in report.duplicates)


def test_check_folder_reports_without_changing_anything(three_classes: Path) -> None:
    before = tree(three_classes)
    result = check_folder(three_classes, LIMITS, test_fraction=0.2)
    assert result.manifest.problems() == []
    assert sum(c["train"] + c["test"] for c in result.report.counts.values()) == 18
    assert tree(three_classes) == before
    single = check_folder(three_classes / "pizza", LIMITS, test_fraction=0.2)
    assert single.manifest.problems()[0].startswith("add at least two classes")


def test_a_class_without_test_photos_is_named(data_dir: Path, tmp_path: Path) -> None:
    train_only = [
        (name, data)
        for name, data in class_photos("pizza", 30).items()
        if split_for(content_id(write(tmp_path / "t", {name: data}) / name), 0.2) == "train"
    ][:3]
    folder = write(tmp_path / "in", {f"pizza/{n}": d for n, d in train_only})
    write(folder, {f"sushi/{n}": d for n, d in class_photos("sushi", 6).items()})
    managed.create_dataset(data_dir, "mine")
    import_folder(data_dir, "mine", folder, LIMITS, move=False)
    assert read_manifest(data_dir / "mine").problems() == [
        "class 'pizza' has no test photo yet: add more photos (about 20% of them go to test)"
    ]


def test_an_archive_keeps_its_split_and_an_unsafe_one_changes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    jpeg = {name: image_bytes(picture(n), "JPEG") for n, name in enumerate("abcd")}
    good = tmp_path / "good.zip"
    layout = {"train/x/a.jpg": "a", "test/x/b.jpg": "b", "train/y/c.jpg": "c", "test/y/d.jpg": "d"}
    good.write_bytes(make_zip({path: jpeg[key] for path, key in layout.items()}))
    managed.create_dataset(data_dir, "mine")
    report = import_archive(data_dir, "mine", good, LIMITS, max_bytes=10**8)
    assert {(a["file"], a["split"]) for a in report.accepted} == {
        ("train/x/a.jpg", "train"),
        ("test/x/b.jpg", "test"),
        ("train/y/c.jpg", "train"),
        ("test/y/d.jpg", "test"),
    }
    before = tree(data_dir / "mine")
    for members in ({"../evil.jpg": jpeg["a"]}, {"x/inner.zip": good.read_bytes()}):
        bad = tmp_path / "bad.zip"
        bad.write_bytes(make_zip(members))
        with pytest.raises(UnsafeArchiveError):
            import_archive(data_dir, "mine", bad, LIMITS, max_bytes=10**8)
        assert tree(data_dir / "mine") == before
    assert not any((data_dir / ".staging").iterdir())


def test_removing_photos_and_classes_keeps_the_layout_trainable(
    data_dir: Path, three_classes: Path
) -> None:
    managed.create_dataset(data_dir, "mine")
    report = import_folder(data_dir, "mine", three_classes, LIMITS, move=False)
    managed.remove_class(data_dir, "mine", "steak")
    pizza = [a for a in report.accepted if a["label"] == "pizza"]
    for item in pizza:
        managed.remove_photo(data_dir, "mine", item["id"])
    manifest = read_manifest(data_dir / "mine")
    assert manifest.classes == ["pizza", "sushi"]
    assert manifest.problems() == ["class 'pizza' has no photos yet"]
    assert not (data_dir / "mine" / "train" / "steak").exists()
    assert not (data_dir / "mine" / "train" / "pizza").exists()  # no empty class folder left
    with pytest.raises(managed.PhotoNotFound):
        managed.remove_photo(data_dir, "mine", pizza[0]["id"])
    with pytest.raises(managed.PhotoNotFound):
        managed.remove_photo(data_dir, "mine", "../../etc/passwd")
    with pytest.raises(managed.PhotoNotFound):
        managed.remove_class(data_dir, "mine", "steak")


def test_a_failure_while_moving_in_leaves_the_dataset_as_it_was(
    data_dir: Path, three_classes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed.create_dataset(data_dir, "mine")
    before = tree(data_dir / "mine")
    real_copy = placing.shutil.copyfile
    calls = []

    def disk_fills_up(source: Path, target: Path) -> object:
        calls.append(source)
        if len(calls) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(source, target)

    monkeypatch.setattr(placing.shutil, "copyfile", disk_fills_up)
    with pytest.raises(OSError, match="No space left"):
        import_folder(data_dir, "mine", three_classes, LIMITS, move=False)
    assert tree(data_dir / "mine") == before
    assert not [p for p in (data_dir / "mine").rglob("*") if p.is_dir() and p.name != ".thumbs"]


def test_two_imports_at_once_lose_nothing(data_dir: Path, tmp_path: Path) -> None:
    managed.create_dataset(data_dir, "mine")
    folders = [
        write(tmp_path / label, {f"{label}/{n}": d for n, d in class_photos(label, 10).items()})
        for label in ("pizza", "sushi")
    ]
    reports: list[ImportReport] = []
    threads = [
        threading.Thread(
            target=lambda f=folder: reports.append(
                import_folder(data_dir, "mine", f, LIMITS, move=False)
            )
        )
        for folder in folders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    manifest = read_manifest(data_dir / "mine")
    assert sorted(manifest.classes) == ["pizza", "sushi"]
    assert manifest.num_images == sum(len(r.accepted) for r in reports) == 20


def test_a_dataset_deleted_before_the_move_in_is_not_made_again(
    data_dir: Path, three_classes: Path
) -> None:
    managed.create_dataset(data_dir, "mine")
    report = ImportReport()
    found = find_photos(three_classes, report)
    checked = check_photos(found.candidates, LIMITS, report)
    managed.delete_dataset(data_dir, "mine")
    with pytest.raises(managed.DatasetNotFound):
        managed.add_photos(data_dir, "mine", checked, report, move=False)
    assert not (data_dir / "mine").exists()
    assert not any((data_dir / ".trash").iterdir())


def test_folders_not_made_here_are_read_only(data_dir: Path, three_classes: Path) -> None:
    (data_dir / "copied" / "train").mkdir(parents=True)
    with pytest.raises(managed.DatasetNotFound, match="read-only"):
        managed.delete_dataset(data_dir, "copied")
    with pytest.raises(managed.DatasetNotFound, match="no dataset named"):
        managed.open_dataset(data_dir, "absent")


def test_thumbnails_are_found_only_by_valid_names(data_dir: Path, three_classes: Path) -> None:
    managed.create_dataset(data_dir, "mine")
    report = import_folder(data_dir, "mine", three_classes, LIMITS, move=False)
    image_id = report.accepted[0]["id"]
    assert managed.thumbnail_path(data_dir, "mine", image_id).is_file()
    for name, photo in (("mine", "../dataset"), ("../mine", image_id), ("mine", "0" * 32)):
        with pytest.raises(managed.PhotoNotFound):
            managed.thumbnail_path(data_dir, name, photo)


def test_corrupt_and_foreign_files_are_never_stored(data_dir: Path, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "in",
        {"pizza/cut.jpg": image_bytes(picture(1), "JPEG")[:100], "pizza/page.html": b"<html>"},
    )
    managed.create_dataset(data_dir, "mine")
    report = import_folder(data_dir, "mine", folder, LIMITS, move=False)
    assert report.accepted == [] and len(report.skipped) == 2
    assert tree(data_dir / "mine") == [MANIFEST_FILE]
    assert read_manifest(data_dir / "mine").classes == ["pizza"]


def test_image_errors_are_image_rejections() -> None:
    assert issubclass(CorruptImage, ImageRejected) and issubclass(NotAnImage, ImageRejected)


@pytest.mark.parametrize(
    "setting",
    [
        {"max_photo_bytes": 0},
        {"max_photos_per_upload": 0},
        {"max_photos_per_upload": 10**6},
        {"max_dataset_upload_bytes": 10},
        {"max_datasets_bytes": -1},
        {"max_image_pixels": 5},
    ],
)
def test_dataset_limits_that_make_no_sense_are_refused_at_start(setting: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Settings(**setting)  # type: ignore[arg-type]
