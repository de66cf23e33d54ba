"""The generated demo dataset: layout, determinism, idempotence, atomicity."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from food_vision.datasets import demo
from food_vision.datasets.demo import generate_demo, is_demo_complete
from food_vision.datasets.demo_render import DEMO_CLASSES
from food_vision.datasets.layout import validate_image_folder

TINY = {"train_per_class": 4, "test_per_class": 2, "size": 32, "samples_per_class": 1}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_counts_and_samples(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert generate_demo(root, **TINY) == root
    assert is_demo_complete(root)

    summary = validate_image_folder(root)
    assert summary.classes == DEMO_CLASSES
    assert summary.counts == {
        "train": dict.fromkeys(DEMO_CLASSES, 4),
        "test": dict.fromkeys(DEMO_CLASSES, 2),
    }
    assert summary.unreadable == 0
    assert sorted(p.name for p in (root / "train" / "pizza").iterdir()) == [
        "000.jpg",
        "001.jpg",
        "002.jpg",
        "003.jpg",
    ]
    assert sorted(p.name for p in (root / "samples").iterdir()) == [
        "pizza_0.jpg",
        "steak_0.jpg",
        "sushi_0.jpg",
    ]


def test_images_decode_as_rgb_at_the_requested_size(tmp_path: Path) -> None:
    root = generate_demo(tmp_path / "demo", **TINY)
    jpegs = sorted(root.rglob("*.jpg"))
    assert len(jpegs) == 3 * (4 + 2 + 1)
    for path in jpegs:
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.mode == "RGB"
            assert image.size == (32, 32)
            image.load()


def test_default_size_is_128(tmp_path: Path) -> None:
    root = generate_demo(
        tmp_path / "demo", train_per_class=1, test_per_class=1, samples_per_class=0
    )
    with Image.open(root / "test" / "sushi" / "000.jpg") as image:
        assert image.size == (128, 128)
    assert list((root / "samples").iterdir()) == []


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = tree_bytes(generate_demo(tmp_path / "a", seed=7, **TINY))
    second = tree_bytes(generate_demo(tmp_path / "b", seed=7, **TINY))
    assert first == second
    assert len(first) == 3 * (4 + 2 + 1) + 1  # the images and the marker


def test_another_seed_gives_other_images(tmp_path: Path) -> None:
    first = tree_bytes(generate_demo(tmp_path / "a", seed=0, **TINY))
    second = tree_bytes(generate_demo(tmp_path / "b", seed=1, **TINY))
    assert first.keys() == second.keys()
    images = [name for name in first if name.endswith(".jpg")]
    assert all(first[name] != second[name] for name in images)


def test_every_image_is_different(tmp_path: Path) -> None:
    """Train, test and samples are separate drawings: no image appears twice."""
    files = tree_bytes(generate_demo(tmp_path / "demo", **TINY))
    images = [data for name, data in files.items() if name.endswith(".jpg")]
    assert len(set(images)) == len(images)


def test_a_small_dataset_is_a_prefix_of_a_bigger_one(tmp_path: Path) -> None:
    small = generate_demo(tmp_path / "small", train_per_class=1, test_per_class=1, size=32)
    big = generate_demo(tmp_path / "big", train_per_class=3, test_per_class=2, size=32)
    for name in ("train/steak/000.jpg", "test/pizza/000.jpg", "samples/sushi_1.jpg"):
        assert (small / name).read_bytes() == (big / name).read_bytes()


def test_complete_root_is_returned_at_once(tmp_path: Path, monkeypatch) -> None:
    root = generate_demo(tmp_path / "demo", **TINY)
    before = tree_bytes(root)

    def must_not_draw(*args, **kwargs):
        raise AssertionError("a complete demo must not be drawn again")

    monkeypatch.setattr(demo, "render_demo_image", must_not_draw)
    started = time.perf_counter()
    assert generate_demo(root, **TINY) == root
    assert time.perf_counter() - started < 0.5
    assert tree_bytes(root) == before


def test_complete_root_with_other_parameters_is_refused(tmp_path: Path) -> None:
    root = generate_demo(tmp_path / "demo", **TINY)
    with pytest.raises(ValueError, match="made with other parameters"):
        generate_demo(root, **{**TINY, "seed": 3})


def test_foreign_folder_is_not_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    (root / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a complete demo dataset"):
        generate_demo(root, **TINY)
    assert (root / "mine.txt").read_text() == "keep me"


def test_empty_existing_folder_is_filled(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    generate_demo(root, **TINY)
    assert is_demo_complete(root)


def test_failed_generation_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    real_save = demo._save_jpeg
    calls = 0

    def save_then_die(image: Image.Image, path: Path) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("killed midway")
        real_save(image, path)

    monkeypatch.setattr(demo, "_save_jpeg", save_then_die)
    root = tmp_path / "data" / "demo"
    with pytest.raises(RuntimeError, match="killed midway"):
        generate_demo(root, **TINY)
    assert calls == 5
    assert not root.exists()
    assert list(root.parent.iterdir()) == []  # the temporary tree is gone too

    monkeypatch.setattr(demo, "_save_jpeg", real_save)
    generate_demo(root, **TINY)  # and the next try succeeds
    assert validate_image_folder(root).num_train == 12


def test_stale_temporary_trees_are_swept(tmp_path: Path) -> None:
    stale = tmp_path / ".demo.tmp-stale"
    fresh = tmp_path / ".demo.tmp-fresh"  # maybe another process at work: left alone
    for folder in (stale, fresh):
        (folder / "train").mkdir(parents=True)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    generate_demo(tmp_path / "demo", **TINY)
    assert not stale.exists()
    assert fresh.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"train_per_class": 0}, "train_per_class must be >= 1"),
        ({"test_per_class": 0}, "test_per_class must be >= 1"),
        ({"samples_per_class": -1}, "samples_per_class must be >= 0"),
        ({"size": 8}, "size must be between 16 and 1024"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_demo(tmp_path / "demo", **{**TINY, **arguments})
    assert not (tmp_path / "demo").exists()
