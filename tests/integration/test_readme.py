"""The README's commands, run as a newcomer would: every ```bash block, `make run`, the
Procfile, and the Docker commands checked against the Dockerfile (no Docker engine here)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import REPO_ROOT as ROOT
from tests.utils.server import free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            if httpx.get(url + "/healthz", timeout=2).json() == {"status": "ok"}:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer /healthz")


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def workdir(tmp_path):
    """A newcomer's checkout: the repo's venv, a fresh .foodvision."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def env_for(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOODVISION_")}
    return {**env, "FOODVISION_TRAINER_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


def test_every_bash_block_runs(workdir):
    port = free_port()
    env = env_for(workdir)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.app:app", "--port", str(port)],
        cwd=workdir,
        env={**env, "FOODVISION_HOME": str(workdir / ".foodvision")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        scripts = [b.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for b in blocks("bash")]
        assert len(scripts) >= 4
        script = "set -euo pipefail\n" + "\n".join(scripts)
        result = subprocess.run(
            ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert '"predictions"' in result.stdout and "204" in result.stdout
        (client,) = [b for b in blocks("python") if "websockets" in b]
        example = workdir / "events_client.py"
        example.write_text(client.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
        listed = subprocess.run(
            [sys.executable, str(example), "cli-tinyvgg"], capture_output=True, text=True,
            timeout=60, env=env,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert (
            "epoch 3/3: validation acc" in listed.stdout and "completed: test acc" in listed.stdout
        )
    finally:
        stop_group(server)


def test_make_run_serves_the_page(workdir):
    port = free_port()
    home = workdir / ".foodvision"
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env={**env_for(workdir), "FOODVISION_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        page = httpx.get(f"http://127.0.0.1:{port}/").text
        assert 'ws-connect="/ws"' in page and "Demo" in page
        assert (home / "data" / "demo" / "train").is_dir()
    finally:
        stop_group(process)


def test_procfile_command_answers_on_port(workdir):
    (line,) = (ROOT / "Procfile").read_text().strip().splitlines()
    kind, command = line.split(":", 1)
    assert kind == "web"
    port = free_port()
    env = {
        **env_for(workdir),
        "PORT": str(port),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "FOODVISION_HOME": str(workdir / ".foodvision"),
    }
    log = workdir / "procfile.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", command.strip()], cwd=workdir, env=env, start_new_session=True,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        stop_group(process)
    assert "listening on 0.0.0.0 without FOODVISION_TOKEN" in log.read_text()


def test_docker_commands_match_the_dockerfile():
    dockerfile = (ROOT / "Dockerfile").read_text()
    run_line = next(line for line in README.splitlines() if line.startswith("docker run"))
    args = shlex.split(run_line)
    published = args[args.index("-p") + 1].split(":")[1]
    volume = args[args.index("-v") + 1].split(":")[1]
    assert f"EXPOSE {published}" in dockerfile
    assert f'"--port", "{published}"' in dockerfile
    assert f'VOLUME ["{volume}"]' in dockerfile
    assert "127.0.0.1:8000/healthz" in dockerfile and "USER foodvision" in dockerfile
    assert "docker build -t foodvision ." in README
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
