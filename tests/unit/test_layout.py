"""ImageFolder validation: every way a dataset can be wrong gets a one-line, precise message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from food_vision.datasets.layout import (
    IMAGE_EXTENSIONS,
    DatasetError,
    DatasetSummary,
    image_files,
    validate_image_folder,
)


def write_image(path: Path, color: tuple[int, int, int] = (200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF"}.get(
        path.suffix.lower(), "WEBP"
    )
    Image.new("RGB", (8, 8), color).save(path, format=fmt)
    return path


def write_corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an image at all")
    return path


def make_dataset(root: Path, layout: dict[str, dict[str, int]]) -> Path:
    """``layout``: split -> class -> number of good PNG images to write."""
    for split, classes in layout.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for name, count in classes.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                write_image(root / split / name / f"{k:03d}.png")
    return root


GOOD = {"train": {"pizza": 3, "steak": 2}, "test": {"pizza": 1, "steak": 2}}


def expect_error(root: Path, *fragments: str, verify_images: bool = True) -> str:
    with pytest.raises(DatasetError) as caught:
        validate_image_folder(root, verify_images=verify_images)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


# --------------------------------------------------------------------------- good datasets


def test_valid_dataset_is_summarised(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    summary = validate_image_folder(root)
    assert summary == DatasetSummary(
        root=root,
        classes=("pizza", "steak"),
        counts={"train": {"pizza": 3, "steak": 2}, "test": {"pizza": 1, "steak": 2}},
        unreadable=0,
    )
    assert summary.num_train == 5
    assert summary.num_test == 3
    as_dict = json.loads(json.dumps(summary.to_dict()))
    assert as_dict == {
        "root": str(root),
        "classes": ["pizza", "steak"],
        "counts": {"train": {"pizza": 3, "steak": 2}, "test": {"pizza": 1, "steak": 2}},
        "unreadable": 0,
        "num_train": 5,
        "num_test": 3,
    }


def test_samples_list_readable_images_with_class_indices(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    write_corrupt(root / "test" / "steak" / "bad.jpg")
    summary = validate_image_folder(root)
    assert summary.samples("test") == [
        (root / "test" / "pizza" / "000.png", 0),
        (root / "test" / "steak" / "000.png", 1),
        (root / "test" / "steak" / "001.png", 1),
    ]
    assert len(summary.samples("train")) == summary.num_train


def test_classes_are_sorted(tmp_path: Path) -> None:
    layout = {split: {"sushi": 1, "pizza": 1, "steak": 1} for split in ("train", "test")}
    summary = validate_image_folder(make_dataset(tmp_path / "ds", layout))
    assert summary.classes == ("pizza", "steak", "sushi")


def test_every_known_extension_in_any_case_is_an_image(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    names = ["a.JPG", "b.jpeg", "c.Png", "d.bmp", "e.GIF", "f.webp", "g.TIF", "h.tiff", "i.avif",
             "j.HEIC", "k.heif", "l.hif"]  # fmt: skip
    for name in names:
        write_image(root / "train" / "pizza" / name)
    assert {Path(n).suffix.lower() for n in names} == set(IMAGE_EXTENSIONS)
    assert validate_image_folder(root).counts["train"]["pizza"] == 3 + len(names)


def test_non_image_files_are_ignored(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    (root / "train" / "pizza" / "notes.txt").write_text("not an image")
    (root / "train" / "pizza" / "labels.csv").write_text("a,b\n")
    (root / "train" / "README.md").write_text("a file beside the class folders")
    (root / "LICENSE").write_text("top level")
    (root / "train" / "pizza" / "nested").mkdir()
    write_image(root / "train" / "pizza" / "nested" / "deep.png")  # only the top level counts
    summary = validate_image_folder(root)
    assert summary.counts["train"] == {"pizza": 3, "steak": 2}
    assert summary.unreadable == 0


def test_hidden_files_and_folders_are_ignored(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    write_corrupt(root / "train" / "pizza" / "._000.png")  # macOS resource fork
    (root / "train" / "pizza" / ".DS_Store").write_bytes(b"\0\0")
    write_image(root / "train" / ".ipynb_checkpoints" / "x.png")  # not a class
    (root / "test" / ".cache").mkdir()  # an empty hidden folder is not an empty class
    summary = validate_image_folder(root)
    assert summary.classes == ("pizza", "steak")
    assert summary.counts["train"]["pizza"] == 3
    assert summary.unreadable == 0


def test_corrupt_image_is_counted_not_fatal(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    write_corrupt(root / "train" / "pizza" / "broken.jpg")
    (root / "test" / "steak" / "empty.png").write_bytes(b"")
    summary = validate_image_folder(root)
    assert summary.counts["train"]["pizza"] == 3
    assert summary.counts["test"]["steak"] == 2
    assert summary.unreadable == 2


def test_without_verification_every_image_file_counts(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    write_corrupt(root / "train" / "pizza" / "broken.jpg")
    summary = validate_image_folder(root, verify_images=False)
    assert summary.counts["train"]["pizza"] == 4
    assert summary.unreadable == 0


def test_image_files_is_sorted_and_filtered(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    for name in ("b.png", "A.JPG", ".hidden.png", "c.txt", "a.jpeg"):
        write_corrupt(folder / name)
    (folder / "sub.png").mkdir()  # a folder with an image-like name is not an image
    assert [p.name for p in image_files(folder)] == ["A.JPG", "a.jpeg", "b.png"]


# --------------------------------------------------------------------------- bad datasets


def test_missing_root(tmp_path: Path) -> None:
    expect_error(tmp_path / "nowhere", "dataset folder not found", str(tmp_path / "nowhere"))


def test_missing_train(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"test": GOOD["test"]})
    message = expect_error(root, "missing split folder train/", str(root))
    assert "test/" not in message


def test_missing_test(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"]})
    message = expect_error(root, "missing split folder test/", str(root))
    assert "train/" not in message


def test_both_splits_missing(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    write_image(root / "pizza" / "0.png")
    expect_error(root, "missing split folder train/ and test/")


def test_split_that_is_a_file(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"]})
    (root / "test").write_text("oops")
    expect_error(root, "missing split folder test/")


def test_split_without_class_folders(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"], "test": {}})
    write_image(root / "test" / "loose.png")  # images must sit in class folders
    expect_error(root, "no class folders in test/", str(root / "test"))


def test_empty_class(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": {"pizza": 2, "steak": 0}, "test": GOOD["test"]})
    expect_error(root, "empty class train/steak", str(root / "train" / "steak"))


def test_class_with_only_non_images_is_empty(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"], "test": {"pizza": 1, "steak": 0}})
    (root / "test" / "steak" / "readme.txt").write_text("no images here")
    write_image(root / "test" / "steak" / ".hidden.png")
    expect_error(root, "empty class test/steak")


def test_class_sets_differ(tmp_path: Path) -> None:
    layout = {
        "train": {"pizza": 1, "steak": 1, "sushi": 1},
        "test": {"pizza": 1, "steak": 1, "ramen": 1, "burger": 1},
    }
    root = make_dataset(tmp_path / "ds", layout)
    expect_error(
        root,
        "class folders differ between train/ and test/",
        "only in train/: sushi",
        "only in test/: burger, ramen",
        str(root),
    )


def test_class_missing_from_test_only(tmp_path: Path) -> None:
    layout = {"train": {"pizza": 1, "steak": 1, "sushi": 1}, "test": {"pizza": 1, "steak": 1}}
    message = expect_error(make_dataset(tmp_path / "ds", layout), "only in train/: sushi")
    assert "only in test/" not in message


def test_single_class(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": {"pizza": 2}, "test": {"pizza": 1}})
    expect_error(root, "need at least 2 classes, found 1 (pizza)", str(root))


def test_class_with_only_corrupt_images(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"], "test": {"pizza": 0, "steak": 1}})
    write_corrupt(root / "test" / "pizza" / "a.jpg")
    write_corrupt(root / "test" / "pizza" / "b.png")
    expect_error(
        root, "no readable images in class test/pizza", "all 2 unreadable", str(root / "test")
    )


# --------------------------------------------------------------------------- links


def test_class_folder_linked_outside_is_refused(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"], "test": {"pizza": 1}})
    outside = tmp_path / "elsewhere"
    write_image(outside / "0.png")
    (root / "test" / "steak").symlink_to(outside, target_is_directory=True)
    expect_error(root, "class folder test/steak is a link leading outside the dataset")


def test_split_folder_linked_outside_is_refused(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"train": GOOD["train"]})
    outside = make_dataset(tmp_path / "other", {"test": GOOD["test"]})
    (root / "test").symlink_to(outside / "test", target_is_directory=True)
    expect_error(root, "split folder test/ is a link leading outside the dataset")


def test_image_linked_outside_counts_as_unreadable(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    secret = write_image(tmp_path / "private.png")
    (root / "train" / "pizza" / "leak.png").symlink_to(secret)
    (root / "train" / "pizza" / "dangling.png").symlink_to(tmp_path / "gone.png")
    summary = validate_image_folder(root)
    assert summary.counts["train"]["pizza"] == 3
    assert summary.unreadable == 2
    assert all(
        path.name not in {"leak.png", "dangling.png"} for path, _ in summary.samples("train")
    )


def test_links_inside_the_dataset_are_followed(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", GOOD)
    (root / "train" / "steak" / "again.png").symlink_to(root / "train" / "pizza" / "000.png")
    (root / "shared").mkdir()
    write_image(root / "shared" / "0.png")
    (root / "test" / "sushi").symlink_to(root / "shared", target_is_directory=True)
    (root / "train" / "sushi").symlink_to(root / "shared", target_is_directory=True)
    summary = validate_image_folder(root)
    assert summary.classes == ("pizza", "steak", "sushi")
    assert summary.counts["train"] == {"pizza": 3, "steak": 3, "sushi": 1}
    assert summary.unreadable == 0


def test_error_is_a_value_error_on_one_line(tmp_path: Path) -> None:
    root = tmp_path / "two\nlines"
    make_dataset(root, {"train": GOOD["train"]})
    message = expect_error(root, "missing split folder test/")
    assert isinstance(DatasetError(message), ValueError)
