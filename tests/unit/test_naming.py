"""One dataset-name rule for every layer: a plain folder name of at most 64 characters."""

from __future__ import annotations

import pytest

from food_vision.datasets.naming import MAX_DATASET_NAME_CHARS, is_valid_dataset_name


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
