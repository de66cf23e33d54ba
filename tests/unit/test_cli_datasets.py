"""``foodvision datasets --check DIR`` and ``--import ZIP_OR_DIR --name NAME``, run as real
subprocesses: the same per-file report as the page, and one ``error:`` line for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from food_vision.datasets.manifest import read_manifest
from tests.utils.factories import make_zip
from tests.utils.photos import class_photos, every_format
from tests.utils.processes import child_env, run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return child_env(home)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for label in ("pizza", "sushi"):
        (folder / label).mkdir(parents=True)
        for name, data in class_photos(label, 5).items():
            (folder / label / name).write_bytes(data)
    (folder / "pizza" / "notes.txt").write_text("not a photo")
    for name, data in every_format(seed=50).items():
        (folder / "sushi" / name).write_bytes(data)
    return folder


def test_check_prints_every_file_and_passes_a_trainable_folder(
    photos: Path, env: dict[str, str], home: Path
) -> None:
    result = run_cli(["datasets", "--check", str(photos)], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("accepted ") for line in lines) == 10 + len(every_format())
    assert "skipped    pizza/notes.txt: the file is not an image" in result.stdout
    assert any(line.startswith("accepted   sushi/photo.heic  ->  sushi (") for line in lines)
    assert lines[-1].startswith("ready to train: 2 classes")
    assert not (home / "data").exists()


def test_check_fails_a_folder_that_cannot_train(photos: Path, env: dict[str, str]) -> None:
    result = run_cli(["datasets", "--check", str(photos / "pizza")], env)
    assert result.returncode == 1
    assert "not ready to train: add at least two classes" in result.stdout


def test_import_makes_the_dataset_and_a_second_import_adds_no_duplicates(
    photos: Path, env: dict[str, str], home: Path
) -> None:
    first = run_cli(["datasets", "--import", str(photos), "--name", "mine"], env)
    assert first.returncode == 0, first.stderr
    manifest = read_manifest(home / "data" / "mine")
    assert manifest.classes == ["pizza", "sushi"] and manifest.num_images == 18
    again = run_cli(["datasets", "--import", str(photos), "--name", "mine"], env)
    assert again.returncode == 0, again.stderr
    assert "0 accepted, 18 duplicates, 1 skipped" in again.stdout
    listing = run_cli(["datasets"], env)
    assert any(line.split()[:2] == ["mine", "ready"] for line in listing.stdout.splitlines())


def test_import_of_a_zip_keeps_its_split(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    pizza, sushi = class_photos("pizza", 2), class_photos("sushi", 2)
    members = {
        **{f"food/train/pizza/{n}": d for n, d in list(pizza.items())[:1]},
        **{f"food/test/pizza/{n}": d for n, d in list(pizza.items())[1:2]},
        **{f"food/train/sushi/{n}": d for n, d in list(sushi.items())[:1]},
        **{f"food/test/sushi/{n}": d for n, d in list(sushi.items())[1:2]},
    }
    archive = tmp_path / "food.zip"
    archive.write_bytes(make_zip(members))
    result = run_cli(
        ["datasets", "--import", str(archive), "--name", "zipped", "--test-fraction", "0.3"], env
    )
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(home / "data" / "zipped")
    assert manifest.count_table() == {
        "pizza": {"train": 1, "test": 1},
        "sushi": {"train": 1, "test": 1},
    }
    assert manifest.split.test_fraction == 0.3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--import", "{photos}"], "--import needs --name NAME"),
        (["--import", "{photos}", "--name", "../up"], "is not a dataset name"),
        (["--import", "{photos}", "--name", "demo"], "built-in dataset"),
        (["--import", "{tmp}/absent", "--name", "x"], "no file or folder"),
        (["--import", "{tmp}/note.txt", "--name", "x"], "neither a folder nor a zip"),
        (["--import", "{tmp}/evil.zip", "--name", "x"], "escapes the target"),
        (["--check", "{tmp}/absent"], "no folder"),
        (["--check", "{photos}", "--test-fraction", "0.9"], "between 0.05 and 0.5"),
        (["--check", "{photos}", "--name", "x"], "--name goes with --import"),
    ],
)
def test_bad_input_is_one_error_line(
    photos: Path, tmp_path: Path, env: dict[str, str], home: Path, args: list[str], message: str
) -> None:
    (tmp_path / "note.txt").write_text("hello")
    (tmp_path / "evil.zip").write_bytes(make_zip({"../pizza/a.jpg": b"x"}))
    argv = [a.format(photos=photos, tmp=tmp_path) for a in args]
    result = run_cli(["datasets", *argv], env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (home / "data" / "x").exists()


def test_check_and_import_together_are_a_usage_error(photos: Path, env: dict[str, str]) -> None:
    result = run_cli(["datasets", "--check", str(photos), "--import", str(photos)], env)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
