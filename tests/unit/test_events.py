from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from pydantic.dataclasses import dataclass

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
        test_loss=0.8,
        test_acc=0.5,
        seconds=1.5,
    ),
    Completed("run-000001", metrics={"test_acc": 0.9}, model_path="/x/model.safetensors"),
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
    line = EXAMPLES[1].encode()[:-1] + ',"phase":"eval"}'
    assert decode(line) == EXAMPLES[1]


def test_a_later_optional_field_reads_old_lines():
    @dataclass(frozen=True, kw_only=True)
    class PhasedProgress(Progress):
        phase: str = "train"

    old = json.loads(EXAMPLES[1].encode())
    assert TypeAdapter(PhasedProgress).validate_python(old).phase == "train"
    assert TypeAdapter(PhasedProgress).validate_python({**old, "phase": "eval"}).phase == "eval"


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
