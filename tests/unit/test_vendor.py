"""The htmx files from saved npm tarballs (an air-gapped image build), and what is refused."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from frontend import vendor


def npm_tarballs(folder: Path, contents: Callable[[vendor.VendorFile], bytes]) -> None:
    """The pinned packages' tarballs laid out as ``npm pack`` writes them (files under
    ``package/``), each pinned file holding ``contents(item)``."""
    packages: dict[str, list[vendor.VendorFile]] = {}
    for item in vendor.pinned():
        packages.setdefault(vendor.tarball_name(item), []).append(item)
    for name, items in packages.items():
        with tarfile.open(folder / name, "w:gz") as archive:
            for item in items:
                data = contents(item)
                info = tarfile.TarInfo(f"package/{item.path}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


@pytest.fixture
def vendor_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Installs land in a temporary folder, never over the checkout's own copies."""
    folder = tmp_path / "vendor"
    monkeypatch.setattr(vendor, "VENDOR_DIR", folder)
    return folder


@pytest.fixture
def pinned_files() -> dict[str, bytes]:
    """The checkout's verified htmx files (``make install`` fetched them)."""
    items = vendor.pinned()
    if not all(vendor.is_verified(item) for item in items):
        pytest.skip("the pinned front-end files are not fetched: run `python -m frontend.vendor`")
    return {item.file: item.local_path.read_bytes() for item in items}


def test_tarball_name_is_the_one_npm_pack_writes() -> None:
    item = vendor.VendorFile("@scope/lib", "1.2.3", "dist/lib.js", "lib.js", "sha384-x")
    assert vendor.tarball_name(item) == "scope-lib-1.2.3.tgz"


def test_installs_from_saved_tarballs_offline(
    tmp_path: Path, pinned_files: dict[str, bytes], vendor_dir: Path
) -> None:
    saved = tmp_path / "wheelhouse"
    saved.mkdir()
    npm_tarballs(saved, lambda item: pinned_files[item.file])
    assert vendor.main(["--from", str(saved)]) == 0
    assert all(vendor.is_verified(item) for item in vendor.pinned())
    assert sorted(p.name for p in vendor_dir.iterdir()) == sorted(pinned_files)


def test_missing_tarball_is_named(
    tmp_path: Path, vendor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert vendor.main(["--from", str(tmp_path)]) == 2
    first = vendor.tarball_name(vendor.pinned()[0])
    assert f"{first} is missing" in capsys.readouterr().err
    assert not vendor_dir.exists()


def test_a_tarball_whose_file_does_not_match_its_hash_is_refused(
    tmp_path: Path, vendor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npm_tarballs(tmp_path, lambda item: b"console.log('not htmx')")
    assert vendor.main(["--from", str(tmp_path)]) == 2
    assert "does not match its pinned integrity hash" in capsys.readouterr().err
    assert not vendor_dir.exists()


@pytest.mark.parametrize("content", [b"", b"not a tarball at all", b"\x1f\x8b\x08garbage"])
def test_a_file_that_is_no_npm_tarball_is_refused(
    tmp_path: Path, vendor_dir: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    for item in vendor.pinned():
        (tmp_path / vendor.tarball_name(item)).write_bytes(content)
    assert vendor.main(["--from", str(tmp_path)]) == 2
    assert "is not an npm package holding" in capsys.readouterr().err


def test_from_a_file_or_a_missing_folder_is_refused(
    tmp_path: Path, vendor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "wheelhouse.txt"
    a_file.write_text("x")
    for path in (a_file, tmp_path / "nowhere"):
        assert vendor.main(["--from", str(path)]) == 2
        assert f"{path} is not a folder" in capsys.readouterr().err


def test_pack_into_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "wheelhouse"
    a_file.write_text("x")
    assert vendor.main(["--pack-into", str(a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_pack_into_without_npm_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert vendor.main(["--pack-into", str(tmp_path / "wheelhouse")]) == 2
    assert "npm is not installed" in capsys.readouterr().err


def test_from_and_pack_into_together_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        vendor.main(["--from", str(tmp_path), "--pack-into", str(tmp_path)])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
