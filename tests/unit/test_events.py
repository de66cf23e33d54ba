from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from food_vision.events import (
    Cancelled,
    Completed,
    EpochEnd,
    EventError,
    Failed,
    LogLine,
    Progress,
    Started,
    decode,
    read_line,
)

EXAMPLES = [
    Started(
        "run-000001",
        config={"epochs": 2},
        device="cpu",
        classes=["pizza", "steak"],
        num_train=10,
        num_test=4,
        epochs=2,
        steps_per_epoch=3,
    ),
    Progress("run-000001", epoch=1, step=2, steps=3, loss=0.5, images_per_sec=120.0),
    EpochEnd(
        "run-000001",
        epoch=1,
        epochs=2,
        train_loss=0.7,
        train_acc=0.6,
        validation_loss=0.8,
        validation_acc=0.5,
        seconds=1.5,
    ),
    Completed(
        "run-000001", metrics={"test_acc": 0.9}, model_path="/x/model.safetensors", best_epoch=1
    ),
    Cancelled("run-000001", epoch=2, step=1, has_model=True),
    Failed("run-000001", error="boom", detail="Traceback"),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_round_trip(event):
    line = event.encode()
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["v"] == 1 and obj["type"] == event.type and obj["run_id"] == "run-000001"
    assert isinstance(obj["ts"], float)
    assert decode(line) == event


def test_final_types():
    assert [e.is_final for e in EXAMPLES] == [False, False, False, True, True, True]


def test_non_finite_floats_become_null_and_decode_as_nan():
    event = Progress("r", epoch=1, step=1, steps=1, loss=math.nan, images_per_sec=math.inf)
    obj = json.loads(event.encode())
    assert obj["loss"] is None and obj["images_per_sec"] is None
    assert math.isnan(decode(event.encode()).loss)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"v": 2, "type": "progress"}', "version"),
        ('{"v": 1, "type": "party"}', "unknown event type"),
        ('{"v": 1, "type": "failed", "run_id": "r", "ts": 1.0}', "lacks field 'error'"),
        (
            '{"v":1,"type":"cancelled","run_id":"r","ts":1.0,"epoch":"x","step":0,'
            '"has_model":false}',
            "cancelled.epoch should be int",
        ),
        (
            '{"v":1,"type":"cancelled","run_id":"r","ts":1.0,"epoch":true,"step":0,'
            '"has_model":false}',
            "should be int",
        ),
        (
            '{"v":1,"type":"cancelled","run_id":"r","ts":1.0,"epoch":1.0,"step":0,'
            '"has_model":false}',
            "cancelled.epoch should be int, got float",
        ),
        (
            '{"v":1,"type":"cancelled","run_id":"r","ts":1.0,"epoch":1,"step":0,"has_model":1}',
            "cancelled.has_model should be bool, got int",
        ),
        ('{"v":1,"type":"failed","run_id":"r","error":"e"}', "failed event lacks field 'ts'"),
        ('{"v":1,"type":"failed","run_id":"r","ts":true,"error":"e"}', "failed.ts should be float"),
        (
            '{"v":1,"type":"failed","run_id":"r","ts":"1.0","error":"e"}',
            "failed.ts should be float",
        ),
        ('{"v":1,"type":"failed","run_id":7,"ts":1.0,"error":"e"}', "failed.run_id should be str"),
        ('{"v":1,"type":["failed"]}', "unknown event type"),
        ('{"v":true,"type":"failed","run_id":"r","ts":1.0,"error":"e"}', "version True"),
        ('{"v":1.0,"type":"failed","run_id":"r","ts":1.0,"error":"e"}', "version 1.0"),
        (
            '{"v":1,"type":"started","run_id":"r","ts":1.0,"config":{},"device":"cpu",'
            '"classes":["a",3],"num_train":1,"num_test":1,"epochs":1,"steps_per_epoch":1}',
            "started.classes.1 should be str, got int",
        ),
        (
            '{"v":1,"type":"completed","run_id":"r","ts":1.0,"metrics":[],"model_path":"m"}',
            "completed.metrics should be dict, got list",
        ),
    ],
)
def test_strict_decode_says_what_is_wrong(line, message):
    with pytest.raises(EventError, match=message):
        decode(line)


def test_ints_are_read_as_floats():
    event = decode(
        '{"v":1,"type":"progress","run_id":"r","ts":2,"epoch":1,"step":1,"steps":1,'
        '"loss":1,"images_per_sec":null}'
    )
    assert isinstance(event.ts, float) and isinstance(event.loss, float)
    assert (event.ts, event.loss) == (2.0, 1.0) and math.isnan(event.images_per_sec)


def test_a_null_metric_is_kept_as_written():
    event = decode(
        '{"v":1,"type":"completed","run_id":"r","ts":1.0,"metrics":{"test_loss":null},'
        '"model_path":"m"}'
    )
    assert event.metrics == {"test_loss": None}


def test_unknown_fields_are_ignored():
    line = EXAMPLES[1].encode()[:-1] + ',"gpu_memory":123}'
    assert decode(line) == EXAMPLES[1]


# Lines as the trainer wrote them before the validation split and the feature pass.
OLD_PROGRESS = (
    '{"v":1,"type":"progress","run_id":"r","ts":1.0,"epoch":1,"step":2,"steps":3,"loss":0.5,'
    '"images_per_sec":9.0}'
)
OLD_EPOCH = (
    '{"v":1,"type":"epoch","run_id":"r","ts":1.0,"epoch":1,"epochs":2,"train_loss":0.7,'
    '"train_acc":0.6,"test_loss":0.8,"test_acc":0.5,"seconds":1.5}'
)
OLD_STARTED = (
    '{"v":1,"type":"started","run_id":"r","ts":1.0,"config":{},"device":"cpu",'
    '"classes":["a","b"],"num_train":4,"num_test":2,"epochs":1,"steps_per_epoch":1}'
)


def test_old_lines_read_with_the_defaults_of_later_fields():
    progress = decode(OLD_PROGRESS)
    assert isinstance(progress, Progress) and progress.phase == "train"
    epoch = decode(OLD_EPOCH)
    assert isinstance(epoch, EpochEnd)
    assert (epoch.test_loss, epoch.test_acc) == (0.8, 0.5)
    assert math.isnan(epoch.validation_loss) and math.isnan(epoch.validation_acc)
    started = decode(OLD_STARTED)
    assert isinstance(started, Started) and (started.num_validation, started.notes) == (0, [])
    completed = decode('{"v":1,"type":"completed","run_id":"r","ts":1.0,"metrics":{},'
                       '"model_path":"m"}')  # fmt: skip
    assert isinstance(completed, Completed) and completed.best_epoch == 0


def test_a_new_epoch_line_has_no_test_figures_and_reads_back():
    obj = json.loads(EXAMPLES[2].encode())
    assert obj["test_loss"] is None and obj["test_acc"] is None  # null: read as NaN, as before
    assert (obj["validation_loss"], obj["validation_acc"]) == (0.8, 0.5)


@pytest.mark.parametrize("phase", ["train", "eval", "features"])
def test_progress_phases_round_trip(phase):
    event = Progress("r", epoch=0, step=1, steps=9, loss=math.nan, images_per_sec=1.0, phase=phase)
    decoded = decode(event.encode())
    assert isinstance(decoded, Progress) and decoded.phase == phase


def test_an_unknown_phase_is_kept_as_a_log_line():
    line = OLD_PROGRESS[:-1] + ',"phase":"dreaming"}'
    with pytest.raises(EventError, match="phase"):
        decode(line)
    assert read_line(line) == LogLine(line)


def test_events_are_frozen_dataclasses():
    event = EXAMPLES[4]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.epoch = 3
    assert dataclasses.replace(event, epoch=3).epoch == 3
    assert dataclasses.asdict(event) == {
        k: v for k, v in event.to_dict().items() if k not in ("v", "type")
    }


def test_failed_detail_is_optional():
    event = decode('{"v":1,"type":"failed","run_id":"r","ts":1.0,"error":"e"}')
    assert event == Failed("r", error="e", detail="", ts=1.0)


def test_tolerant_reader_keeps_other_lines_as_log():
    assert read_line(b"Downloading weights...\n") == LogLine("Downloading weights...")
    assert read_line(EXAMPLES[1].encode() + "\n") == EXAMPLES[1]
    assert read_line(b"\xff\xfe broken") == LogLine("\ufffd\ufffd broken")


@given(st.binary(max_size=200))
def test_tolerant_reader_never_raises(data):
    result = read_line(data)
    assert isinstance(
        result, LogLine | Started | Progress | EpochEnd | Completed | Cancelled | Failed
    )
