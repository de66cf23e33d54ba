"""One dataset-name rule for every layer (a plain folder name of at most 64 characters), and
one class-name rule (a folder name on any system)."""

from __future__ import annotations

import pytest

from food_vision.datasets.naming import (
    MAX_DATASET_NAME_CHARS,
    InvalidName,
    check_class_name,
    check_dataset_name,
    is_valid_dataset_name,
)


@pytest.mark.parametrize("name", ["a", "demo", "my_food-2.v1", "0", "x" * 64])
def test_plain_folder_names_are_valid(name: str) -> None:
    assert is_valid_dataset_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        ".hidden",
        "-dash",
        "_under",
        "a/b",
        "a\\b",
        "bad name",
        "a\x00b",
        "a\n",
        "x" * 65,
    ],
)
def test_other_names_are_refused(name: str) -> None:
    assert not is_valid_dataset_name(name)


def test_the_limit_is_64_characters() -> None:
    assert MAX_DATASET_NAME_CHARS == 64


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("pizza", "pizza"),
        ("  Crème brûlée ", "Crème brûlée"),
        ("cre\u0300me", "cr\u00e8me"),  # one spelling of accents, whatever the source used
        ("ramen 🍜", "ramen 🍜"),
        ("x" * 64, "x" * 64),
    ],
)
def test_class_names_are_stored_in_one_spelling(name: str, stored: str) -> None:
    assert check_class_name(name) == stored


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 65, "at most 64"),
        ("a/b", "characters a folder name cannot"),
        ("a\\b", "characters a folder name cannot"),
        ('say "hi"', "characters a folder name cannot"),
        ("tab\there", "characters a folder name cannot"),
        ("nul\x00byte", "characters a folder name cannot"),
        (".hidden", "must not start or end"),
        ("ends.", "must not start or end"),
        ("..", "must not start or end"),
        ("CON", "reserved"),
        ("com1.photos", "reserved"),
        ("train", "reserved"),
        ("Test", "reserved"),
    ],
)
def test_unusable_class_names_say_why(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        check_class_name(name)


@pytest.mark.parametrize("name", ["con", "LPT9", "aux.data"])
def test_device_names_cannot_name_a_dataset(name: str) -> None:
    with pytest.raises(InvalidName, match="reserved by Windows"):
        check_dataset_name(name)


@pytest.mark.parametrize("name", ["bad name", "../up", ".hidden", ""])
def test_dataset_name_rule_is_explained(name: str) -> None:
    with pytest.raises(InvalidName, match="not a dataset name"):
        check_dataset_name(name)
