"""The dataset registry: named datasets, custom folders, Food-101 layout, archive downloads."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from food_vision.datasets import registry
from food_vision.datasets.demo import MARKER
from food_vision.datasets.demo_render import DEMO_CLASSES
from food_vision.datasets.download import DownloadError
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.registry import (
    NAMED,
    UnknownDatasetError,
    food101_to_image_folder,
    list_datasets,
    resolve_dataset,
)
from food_vision.settings import Settings
from tests.utils.factories import image_bytes, image_folder_zip
from tests.utils.http_server import LocalHTTPServer


@pytest.fixture(scope="module")
def demo_env(demo_data_dir: Path) -> Iterator[Path]:
    """FOODVISION_HOME / FOODVISION_DATA_DIR pointing at the shared demo data, for this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FOODVISION_HOME", str(demo_data_dir.parent / "home"))
        patch.setenv("FOODVISION_DATA_DIR", str(demo_data_dir))
        yield demo_data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def make_image_folder(root: Path, classes: tuple[str, ...] = ("a", "b")) -> Path:
    jpeg = image_bytes(Image.new("RGB", (8, 8), (10, 200, 10)), "JPEG")
    for split in ("train", "test"):
        for label in classes:
            (root / split / label).mkdir(parents=True)
            (root / split / label / "0.jpg").write_bytes(jpeg)
    return root


# ------------------------------------------------------------------------------ demo


def test_demo_resolves_to_a_complete_default_demo(demo_env: Path) -> None:
    root = resolve_dataset("demo", Settings().resolved_data_dir)
    assert root == demo_env / "demo"
    summary = validate_image_folder(root)
    assert summary.classes == DEMO_CLASSES
    assert summary.counts == {
        "train": dict.fromkeys(DEMO_CLASSES, 100),
        "test": dict.fromkeys(DEMO_CLASSES, 30),
    }


def test_ready_demo_is_not_generated_again(demo_env: Path) -> None:
    marker = demo_env / "demo" / MARKER
    before = marker.stat().st_mtime_ns
    first_image = demo_env / "demo" / "train" / "pizza" / "000.jpg"
    image_before = first_image.stat().st_mtime_ns
    assert (
        resolve_dataset("demo", Settings().resolved_data_dir, download=False) == demo_env / "demo"
    )
    assert marker.stat().st_mtime_ns == before
    assert first_image.stat().st_mtime_ns == image_before


def test_list_datasets_shows_demo_ready_and_downloads_missing(demo_env: Path) -> None:
    entries = {entry.name: entry for entry in list_datasets(Settings().resolved_data_dir)}
    assert list(entries)[:4] == ["demo", "pizza_steak_sushi", "pizza_steak_sushi_20", "food101"]
    assert entries["demo"].available
    assert entries["demo"].kind == "generated"
    assert entries["demo"].path == demo_env / "demo"
    assert not entries["pizza_steak_sushi"].available
    assert not entries["food101"].available


# ------------------------------------------------------------------------------ names


def test_unknown_name_says_what_exists_and_where_it_looked(data_dir: Path) -> None:
    with pytest.raises(UnknownDatasetError) as caught:
        resolve_dataset("no_such_set", data_dir)
    message = str(caught.value)
    assert "unknown dataset 'no_such_set'" in message
    for name in NAMED:
        assert name in message
    assert str(data_dir) in message


@pytest.mark.parametrize("name", ["..", ".hidden", "bad name", "x" * 65, "", "-dash", "a\x00b"])
def test_invalid_custom_names_are_refused(data_dir: Path, name: str) -> None:
    with pytest.raises(UnknownDatasetError, match="is not a dataset name"):
        resolve_dataset(name, data_dir)


@pytest.mark.parametrize("name", ["../x", "a/b", "./x/"])
def test_names_with_a_separator_are_paths_and_must_exist(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    cwd = tmp_path / "cwd" / "deeper"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    make_image_folder(data_dir / "x")  # a path is not looked up in the data dir
    (data_dir / "a").mkdir()
    make_image_folder(data_dir / "a" / "b")
    with pytest.raises(UnknownDatasetError, match=r"dataset folder .* does not exist"):
        resolve_dataset(name, data_dir)


def test_relative_path_resolves_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_image_folder(tmp_path / "a" / "b")
    monkeypatch.chdir(tmp_path)
    assert resolve_dataset("a/b", tmp_path / "data") == Path("a/b")
    assert resolve_dataset(str(tmp_path / "a" / "b"), tmp_path / "data") == tmp_path / "a" / "b"


def test_custom_folder_in_the_data_dir_is_found_and_listed(data_dir: Path) -> None:
    make_image_folder(data_dir / "my_food")
    (data_dir / "not_a_dataset").mkdir()  # no train/: not listed
    (data_dir / ".cache").mkdir()
    make_image_folder(data_dir / ".hidden_set")
    os.symlink(data_dir / "my_food", data_dir / "linked")

    assert resolve_dataset("my_food", data_dir) == data_dir / "my_food"
    entries = {entry.name: entry for entry in list_datasets(data_dir)}
    assert set(entries) == {*NAMED, "my_food"}
    assert entries["my_food"].available
    assert entries["my_food"].kind == "folder"
    assert entries["my_food"].path == data_dir / "my_food"


def test_list_datasets_on_a_missing_data_dir(tmp_path: Path) -> None:
    entries = list_datasets(tmp_path / "absent")
    assert [entry.name for entry in entries] == list(NAMED)
    assert not any(entry.available for entry in entries)


def test_archive_not_downloaded_with_download_off(data_dir: Path) -> None:
    with pytest.raises(UnknownDatasetError, match="has not been downloaded yet"):
        resolve_dataset("pizza_steak_sushi", data_dir, download=False)
    assert not (data_dir / "pizza_steak_sushi").exists()


# ------------------------------------------------------------------------------ Food-101


def fake_food101(source: Path) -> dict[str, dict[str, list[str]]]:
    jpeg = image_bytes(Image.new("RGB", (8, 8), (120, 60, 30)), "JPEG")
    listing = {
        "train": {"apple_pie": ["apple_pie/1", "apple_pie/2"], "ramen": ["ramen/7"]},
        "test": {"apple_pie": ["apple_pie/3"], "ramen": ["ramen/8", "ramen/9"]},
    }
    (source / "meta").mkdir(parents=True)
    for split, classes in listing.items():
        (source / "meta" / f"{split}.json").write_text(json.dumps(classes))
        for ids in classes.values():
            for image_id in ids:
                path = source / "images" / f"{image_id}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(jpeg)
    return listing


def test_food101_is_arranged_as_image_folder_with_hard_links(tmp_path: Path) -> None:
    source = tmp_path / "src" / "food-101"
    fake_food101(source)
    target = tmp_path / "data" / "food101"
    target.parent.mkdir()

    assert food101_to_image_folder(source, target) == target

    summary = validate_image_folder(target)
    assert summary.classes == ("apple_pie", "ramen")
    assert summary.counts == {
        "train": {"apple_pie": 2, "ramen": 1},
        "test": {"apple_pie": 1, "ramen": 2},
    }
    linked = target / "train" / "apple_pie" / "1.jpg"
    assert linked.stat().st_ino == (source / "images" / "apple_pie" / "1.jpg").stat().st_ino
    assert [p.name for p in target.parent.iterdir()] == ["food101"]  # no temp folder left
    entries = {entry.name: entry for entry in list_datasets(target.parent)}
    assert entries["food101"].available


def test_food101_conversion_is_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "food-101"
    fake_food101(source)
    target = tmp_path / "food101"
    food101_to_image_folder(source, target)
    (source / "meta" / "train.json").write_text("not json")  # would fail if read again
    assert food101_to_image_folder(source, target) == target


def test_food101_with_a_missing_image_leaves_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "food-101"
    fake_food101(source)
    (source / "images" / "ramen" / "8.jpg").unlink()
    target = tmp_path / "out" / "food101"
    target.parent.mkdir()
    with pytest.raises(FileNotFoundError):
        food101_to_image_folder(source, target)
    assert list(target.parent.iterdir()) == []


# ------------------------------------------------------------------------------ archives


def point_at(
    monkeypatch: pytest.MonkeyPatch, server: LocalHTTPServer, name: str, path: str
) -> None:
    monkeypatch.setitem(NAMED, name, dataclasses.replace(NAMED[name], url=server.url(path)))


def test_archive_dataset_is_downloaded_once(
    data_dir: Path, http_files: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_files.files["/pss.zip"] = image_folder_zip(classes=("pizza", "steak", "sushi"))
    point_at(monkeypatch, http_files, "pizza_steak_sushi", "/pss.zip")

    root = resolve_dataset("pizza_steak_sushi", data_dir)

    assert root == data_dir / "pizza_steak_sushi"
    assert validate_image_folder(root).classes == ("pizza", "steak", "sushi")
    assert http_files.hits["/pss.zip"] == 1
    assert not (data_dir / ".downloads" / "pizza_steak_sushi.zip").exists()
    assert resolve_dataset("pizza_steak_sushi", data_dir, download=False) == root
    assert resolve_dataset("pizza_steak_sushi", data_dir) == root
    assert http_files.total_hits == 1
    entries = {entry.name: entry for entry in list_datasets(data_dir)}
    assert entries["pizza_steak_sushi"].available
    assert not entries["pizza_steak_sushi_20"].available


def test_archive_with_one_top_level_folder_is_ready_afterwards(
    data_dir: Path, http_files: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_files.files["/pss20.zip"] = image_folder_zip(top="pizza_steak_sushi_20_percent")
    point_at(monkeypatch, http_files, "pizza_steak_sushi_20", "/pss20.zip")

    root = resolve_dataset("pizza_steak_sushi_20", data_dir)

    expected = data_dir / "pizza_steak_sushi_20" / "pizza_steak_sushi_20_percent"
    assert root == expected
    entries = {entry.name: entry for entry in list_datasets(data_dir)}
    assert entries["pizza_steak_sushi_20"].available
    assert entries["pizza_steak_sushi_20"].path == expected
    assert resolve_dataset("pizza_steak_sushi_20", data_dir, download=False) == expected
    assert http_files.total_hits == 1


def test_archive_download_failure_names_the_url_and_leaves_nothing(
    data_dir: Path, http_files: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(monkeypatch, http_files, "pizza_steak_sushi", "/missing.zip")
    with pytest.raises(DownloadError, match=r"missing\.zip.*HTTP 404"):
        resolve_dataset("pizza_steak_sushi", data_dir)
    assert not (data_dir / "pizza_steak_sushi").exists()
    assert not list((data_dir / ".downloads").iterdir())


def test_archive_without_splits_is_refused(
    data_dir: Path, http_files: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.utils.factories import make_zip

    http_files.files["/flat.zip"] = make_zip({"readme.txt": b"no images here"})
    point_at(monkeypatch, http_files, "pizza_steak_sushi", "/flat.zip")
    with pytest.raises(DownloadError, match="no train/ and test/"):
        resolve_dataset("pizza_steak_sushi", data_dir)
    assert not (data_dir / "pizza_steak_sushi").exists()
    entries = {entry.name: entry for entry in list_datasets(data_dir)}
    assert not entries["pizza_steak_sushi"].available


def test_named_urls_point_at_the_course_data() -> None:
    assert NAMED["pizza_steak_sushi"].url == registry.COURSE_DATA + "pizza_steak_sushi.zip"
    assert NAMED["pizza_steak_sushi_20"].url.startswith("https://")
