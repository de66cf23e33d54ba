"""atomic_dir: a folder appears complete under its name or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from food_vision.atomic import atomic_dir


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_filled_folder_is_renamed_into_place(tmp_path: Path) -> None:
    target = tmp_path / "out" / "ds"
    with atomic_dir(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".ds.tmp-")
        assert not target.exists()
        (tmp / "train").mkdir()
        (tmp / "train" / "a.txt").write_text("a")
    assert (target / "train" / "a.txt").read_text() == "a"
    assert names(target.parent) == ["ds"]


def test_permissions_are_those_of_a_plain_folder(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with atomic_dir(tmp_path / "ds"):
        pass
    assert (tmp_path / "ds").stat().st_mode == plain.stat().st_mode


def test_empty_target_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    target.mkdir()
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("a")
    assert names(target) == ["a.txt"]


def test_an_exception_removes_the_temporary_folder(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="midway"), atomic_dir(target) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.txt").write_text("a")
        raise RuntimeError("midway")
    assert names(tmp_path) == []


def test_interrupt_removes_the_temporary_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "ds") as tmp:
        (tmp / "a.txt").write_text("a")
        raise KeyboardInterrupt
    assert names(tmp_path) == []


@pytest.mark.parametrize("existing", ["folder", "file"])
def test_existing_target_is_kept_and_refused(tmp_path: Path, existing: str) -> None:
    target = tmp_path / "ds"
    if existing == "folder":
        target.mkdir()
        (target / "mine.txt").write_text("keep me")
    else:
        target.write_text("keep me")
    with pytest.raises(FileExistsError) as caught, atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert caught.value.filename == str(target)
    assert names(tmp_path) == ["ds"]
    kept = target / "mine.txt" if existing == "folder" else target
    assert kept.read_text() == "keep me"


def test_missing_parents_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "ds"
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("x")
    assert (target / "x").read_text() == "x"
