"""`make image`'s choices and refusals, with ``echo`` standing in for the engine's command line
(the real build is `make image-test`, outside `make test`)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.utils.processes import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_image(*variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "-C", str(REPO_ROOT), "image", *variables],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_online_build_uses_the_network_and_the_default_base() -> None:
    done = make_image("ENGINE=echo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("build ") and done.stdout.rstrip().endswith("-t foodvision .")
    assert "--network none" not in done.stdout and "BASE_IMAGE" not in done.stdout


def test_a_wheelhouse_build_runs_with_no_network() -> None:
    # Any folder of the checkout stands for a wheelhouse: nothing is built.
    done = make_image("ENGINE=echo", "WHEELHOUSE=frontend", "BASE_IMAGE=local/python:3.11")
    assert done.returncode == 0, done.stderr
    command = " ".join(done.stdout.split())
    for flag in ("--network none", "WHEELHOUSE=frontend", "BASE_IMAGE=local/python:3.11"):
        assert flag in command


@pytest.mark.parametrize("folder", ["no-such-folder", "/tmp", "Makefile"])
def test_a_wheelhouse_outside_the_build_context_is_refused(folder: str) -> None:
    done = make_image("ENGINE=echo", f"WHEELHOUSE={folder}")
    assert done.returncode != 0
    assert f"WHEELHOUSE={folder} is no folder inside this checkout" in done.stdout
    assert "--build-arg" not in done.stdout


def test_no_engine_is_said_plainly() -> None:
    done = make_image("ENGINE=")
    assert done.returncode != 0
    assert "neither docker nor podman answers" in done.stdout
