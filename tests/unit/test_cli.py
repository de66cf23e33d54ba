"""The ``foodvision`` command line, run as real subprocesses: bad input is one ``error:`` line."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image

from food_vision.events import Failed, decode
from food_vision.runs import RUN_FILE, RunRecord, RunStatus, read_run, write_run
from tests.utils.factories import image_bytes, make_bundle
from tests.utils.processes import child_env, run_cli

RUN_ID = "20260101-120000-abcdef"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return child_env(home)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    make_bundle(folder, seed=2)
    return folder


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command, checked to be an ``error:`` line."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def bomb_png() -> bytes:
    """A tiny PNG whose header claims 30000 x 30000 pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------ predict


def test_predict_by_run_id_prints_top_k(home: Path, env: dict[str, str], tmp_path: Path) -> None:
    make_bundle(home / "runs" / RUN_ID, seed=4)
    image = tmp_path / "photo.png"
    Image.new("RGB", (80, 60), (200, 120, 40)).save(image)

    result = run_cli(["predict", "--model", RUN_ID, "--top-k", "2", str(image)], env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(image)
    assert len(lines) == 3
    for line in lines[1:]:
        label, percent = line.split()
        assert label in {"pizza", "steak", "sushi"}
        assert percent.endswith("%")


def test_predict_unknown_model_id(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["predict", "--model", RUN_ID, str(tmp_path / "x.jpg")], env)
    assert result.returncode == 1
    assert one_error_line(result) == (
        f"error: no model '{RUN_ID}': give a run id from 'foodvision runs' or a folder"
    )
    assert result.stdout == ""


def test_predict_folder_without_a_bundle(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli(["predict", "--model", str(tmp_path / "empty"), "x.jpg"], env)
    assert result.returncode == 1
    assert "meta.json is missing" in one_error_line(result)


def test_predict_top_k_zero(env: dict[str, str], model_dir: Path, tmp_path: Path) -> None:
    result = run_cli(["predict", "--model", str(model_dir), "--top-k", "0", "x.jpg"], env)
    assert result.returncode == 1
    assert one_error_line(result) == "error: --top-k must be between 1 and 100"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "--model", "m", "--top-k", "abc", "x.jpg"], "invalid int value: 'abc'"),
        (["predict", "x.jpg"], "the following arguments are required: --model"),
        (["predict", "--model", "m"], "the following arguments are required: IMAGE"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = run_cli(args, env)
    assert result.returncode == 2
    assert message in one_error_line(result)


def test_predict_bad_images_each_get_one_line(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(image_bytes(Image.new("RGB", (64, 64), (30, 160, 60)), "JPEG"))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[:200])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png())
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    missing = tmp_path / "missing.jpg"
    bad = [text, missing, truncated, bomb, folder]

    result = run_cli(["predict", "--model", str(model_dir), str(good), *map(str, bad)], env)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(bad), result.stderr
    for line, path in zip(errors, bad, strict=True):
        assert line.startswith(f"error: {path}: "), line
    assert errors[1] == f"error: {missing}: no such file"
    assert result.stdout.splitlines()[0] == str(good)
    assert len(result.stdout.splitlines()) == 4


# ------------------------------------------------------------------------------ train


def dataset_with_bad_layout(root: Path) -> Path:
    for label in ("pizza", "steak"):
        (root / "train" / label).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / "train" / label / "0.jpg")
    (root / "test" / "pizza").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "test" / "pizza" / "0.jpg")
    return root


TRAIN_ERRORS = [
    pytest.param(["--epochs", "0"], "epochs: must be between 1 and 500", id="epochs-0"),
    pytest.param(["--lr", "nan"], "learning_rate: must be a finite number", id="lr-nan"),
    pytest.param(["--lr", "-1"], "learning_rate: must be above 0", id="lr-negative"),
    pytest.param(["--batch-size", "0"], "batch_size: must be between 1 and 1024", id="batch-0"),
    pytest.param(
        ["--model", "resnet9000"], "unknown architecture 'resnet9000'", id="unknown-model"
    ),
    pytest.param(
        ["--epochs", "abc"],
        "bad arguments: argument --epochs: invalid int value: 'abc'",
        id="epochs-abc",
    ),
    pytest.param(
        ["--validation-fraction", "0.9"],
        "validation_fraction: must be between 0 and 0.5",
        id="validation-0.9",
    ),
    pytest.param(["--patience", "-2"], "patience: must be between 0 and 500", id="patience"),
    pytest.param(["--niceness", "-1"], "niceness: must be between 0 and 19", id="niceness--1"),
    pytest.param(["--niceness", "20"], "niceness: must be between 0 and 19", id="niceness-20"),
    pytest.param(["--feature-views", "0"], "feature_views: must be between 1", id="views-0"),
    pytest.param(
        ["--fine-tune-blocks", "2"], "fine_tune_blocks: fine-tuning needs a pretrained", id="ft"
    ),
    pytest.param(["--processes", "0"], "processes: must be between 1 and 64", id="processes-0"),
    pytest.param(
        ["--processes", str(min(64, (os.cpu_count() or 1) + 1))],
        "processes: this machine can run at most",
        id="processes-too-many",
    ),
    pytest.param(["--nnodes", "0"], "nnodes: must be 1 or more", id="nnodes-0"),
    pytest.param(
        ["--node-rank", "1"], "nnodes: --node-rank and --rdzv-endpoint are for", id="rank-alone"
    ),
    pytest.param(
        ["--processes", "2", "--rdzv-endpoint", "127.0.0.1:29400"],
        "give --nnodes",
        id="endpoint-without-nnodes",
    ),
    pytest.param(["--nnodes", "2"], "rdzv_endpoint: --nnodes above 1 needs", id="no-endpoint"),
    pytest.param(
        ["--nnodes", "2", "--rdzv-endpoint", "127.0.0.1"], "HOST:PORT", id="endpoint-no-port"
    ),
    pytest.param(
        ["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "127.0.0.1:29400"],
        "node_rank: must be from 0 to 1",
        id="node-rank-too-high",
    ),
    pytest.param(
        ["--feature-cache=yes"],
        "bad arguments: argument --feature-cache/--no-feature-cache: ignored explicit argument",
        id="feature-cache-value",
    ),
]


@pytest.mark.parametrize(("args", "message"), TRAIN_ERRORS)
def test_train_refuses_bad_options(env: dict[str, str], args: list[str], message: str) -> None:
    base = ["train", "--events", "jsonl", "--dataset", "demo", "--model", "tinyvgg"]
    result = run_cli([*base, *args], env)
    assert result.returncode == 1
    event = decode(result.stdout.strip())
    assert isinstance(event, Failed)
    assert message in event.error
    assert one_error_line(result) == f"error: {event.error}"
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [TRAIN_ERRORS[0], TRAIN_ERRORS[-1]])
def test_train_standalone_refuses_bad_options_without_a_run_folder(
    home: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    result = run_cli(["train", "--dataset", "demo", "--model", "tinyvgg", *args], env)
    assert result.returncode == 1
    assert message in one_error_line(result)
    assert result.stdout == ""
    assert not (home / "runs").exists() or not list((home / "runs").iterdir())


def test_train_unknown_dataset(env: dict[str, str], home: Path) -> None:
    result = run_cli(
        ["train", "--events", "jsonl", "--dataset", "nowhere", "--model", "tinyvgg"], env
    )
    assert result.returncode == 1
    event = decode(result.stdout.strip())
    assert isinstance(event, Failed)
    assert event.error.startswith("unknown dataset 'nowhere'")
    assert "UnknownDatasetError" in event.detail  # the traceback tail is kept for the log
    assert one_error_line(result) == f"error: {event.error}"


def test_train_bad_layout_fails_with_the_reason(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    root = dataset_with_bad_layout(tmp_path / "bad")
    result = run_cli(
        ["train", "--events", "jsonl", "--dataset", str(root), "--model", "tinyvgg"], env
    )
    assert result.returncode == 1
    event = decode(result.stdout.strip())
    assert isinstance(event, Failed)
    assert event.error.startswith("class folders differ between train/ and test/")
    assert "only in train/: steak" in event.error
    assert one_error_line(result) == f"error: {event.error}"


def test_train_standalone_failure_is_recorded_in_the_run(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    root = dataset_with_bad_layout(tmp_path / "bad")
    out = home / "runs" / RUN_ID
    result = run_cli(
        ["train", "--dataset", str(root), "--model", "tinyvgg", "--out", str(out)], env
    )
    assert result.returncode == 1
    line = one_error_line(result)
    record = read_run(out)
    assert record is not None
    assert record.status is RunStatus.FAILED
    assert line == f"error: {record.error}"
    events = [decode(text) for text in (out / "events.jsonl").read_text().splitlines()]
    assert [e.type for e in events] == ["failed"]


# ------------------------------------------------------------------------------ listings


def test_datasets_lists_named_and_custom(env: dict[str, str], home: Path) -> None:
    custom = home / "data" / "my_food"
    for split in ("train", "test"):
        for label in ("a", "b"):
            (custom / split / label).mkdir(parents=True)
    result = run_cli(["datasets"], env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert list(rows) == ["demo", "pizza_steak_sushi", "pizza_steak_sushi_20", "food101", "my_food"]
    assert "not downloaded" in rows["pizza_steak_sushi"]
    assert "ready" in rows["my_food"]


def test_runs_empty(env: dict[str, str], home: Path) -> None:
    result = run_cli(["runs"], env)
    assert result.returncode == 0
    assert result.stdout.strip() == f"no runs in {home / 'runs'}"


def test_runs_lists_records_newest_first(env: dict[str, str], home: Path) -> None:
    older = RunRecord(
        "20260101-100000-aaaaaa",
        RunStatus.FAILED,
        {"architecture": "mobilenet_v3_small", "dataset": "demo"},
        created_at=1000.0,
    )
    newer = RunRecord(
        RUN_ID,
        RunStatus.COMPLETED,
        {"architecture": "tinyvgg", "dataset": "pizza_steak_sushi"},
        created_at=2000.0,
        metrics={"test_acc": 0.75},
    )
    for record in (older, newer):
        write_run(home / "runs" / record.id, record)
    (home / "runs" / "broken").mkdir()
    (home / "runs" / "broken" / RUN_FILE).write_text(json.dumps({"id": "broken"}))

    result = run_cli(["runs"], env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == [
        RUN_ID,
        "completed",
        "tinyvgg",
        "pizza_steak_sushi",
        "test",
        "acc",
        "0.750",
    ]
    assert lines[1].split() == ["20260101-100000-aaaaaa", "failed", "mobilenet_v3_small", "demo"]


def test_train_into_any_folder_name_gets_a_valid_run_id(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    root = dataset_with_bad_layout(tmp_path / "bad")
    out = tmp_path / "run"  # "run" cannot be a run id (too short): one is made up
    result = run_cli(
        ["train", "--dataset", str(root), "--model", "tinyvgg", "--out", str(out)], env
    )
    record = read_run(out)
    assert record is not None and record.id != "run" and len(record.id) > 6
    assert "not a valid run id" not in result.stderr
    refused = run_cli(["train", "--run-id", "../x", "--out", str(tmp_path / "other")], env)
    assert refused.returncode == 1 and "not a valid run id" in one_error_line(refused)
