"""The v1 training event stream: typed events, one JSON object per line.

The trainer writes these on a dedicated channel; the server reads them. Any line that is not a
valid event is turned into a :class:`LogLine` so that a stray print never breaks the stream.
Each event is a frozen pydantic dataclass: its annotations are the wire schema, so a line is
decoded by validating it against the union of event types, chosen by its ``type``. Fields are
keyword-only after ``run_id`` and unknown keys are ignored, so a field added later with a default
neither breaks old lines nor is refused by an older reader.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, field
from functools import reduce
from operator import or_
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    SkipValidation,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails

from food_vision.numbers import finite_or_none

VERSION = 1


def _nan_if_null(value: object) -> object:
    return math.nan if value is None else value


# A float on the wire: ints are accepted, booleans and strings are not, and the null that
# ``encode`` writes for a non-finite value reads back as NaN.
_Number = Annotated[float, Strict(), BeforeValidator(_nan_if_null)]
# Metric values pass through as written: a diverged loss stays null, so records stay valid JSON.
_Metrics = dict[StrictStr, SkipValidation[float]]


@dataclass(frozen=True)
class Event:
    """Fields common to every event; subclasses add their own and name their ``type``."""

    TYPE: ClassVar[str] = ""
    run_id: StrictStr
    ts: _Number = field(default_factory=time.time, kw_only=True)

    @property
    def type(self) -> str:
        return self.TYPE

    @property
    def is_final(self) -> bool:
        return self.TYPE in FINAL_TYPES

    def to_dict(self) -> dict[str, Any]:
        return {"v": VERSION, "type": self.TYPE, **asdict(self)}

    def encode(self) -> str:
        """One line of JSON, without the newline. Non-finite floats become null."""
        return json.dumps(finite_or_none(self.to_dict()), separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    TYPE: ClassVar[str] = "started"
    config: dict[StrictStr, Any]
    device: StrictStr
    classes: list[StrictStr]
    num_train: StrictInt
    num_test: StrictInt
    epochs: StrictInt
    steps_per_epoch: StrictInt
    num_validation: StrictInt = 0
    notes: list[StrictStr] = field(default_factory=list)  # what a person should know, in words
    processes: StrictInt = 1  # data-parallel training processes
    parent: StrictStr | None = None  # the run this one continues (its epochs number on)


# What a progress event counts: training steps, evaluation batches, or (for a frozen backbone's
# feature pass) images.
Phase = Literal["train", "eval", "features"]


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    TYPE: ClassVar[str] = "progress"
    epoch: StrictInt
    step: StrictInt
    steps: StrictInt
    loss: _Number
    images_per_sec: _Number
    phase: Phase = "train"


@dataclass(frozen=True, kw_only=True)
class EpochEnd(Event):
    """One finished epoch: train figures, and validation figures when the run holds a split out.

    The test split is evaluated once, at the end (``completed``); ``test_*`` are only set in
    lines written before there was a validation split, and are kept so that they stay readable.
    """

    TYPE: ClassVar[str] = "epoch"
    epoch: StrictInt
    epochs: StrictInt
    train_loss: _Number
    train_acc: _Number
    seconds: _Number
    validation_loss: _Number = math.nan
    validation_acc: _Number = math.nan
    test_loss: _Number = math.nan
    test_acc: _Number = math.nan


@dataclass(frozen=True, kw_only=True)
class Completed(Event):
    TYPE: ClassVar[str] = "completed"
    metrics: _Metrics
    model_path: StrictStr
    best_epoch: StrictInt = 0  # the epoch whose model was kept (0: not recorded)
    stopped_early: StrictBool = False  # ended by stop and keep, before its last epoch


@dataclass(frozen=True, kw_only=True)
class Cancelled(Event):
    TYPE: ClassVar[str] = "cancelled"
    epoch: StrictInt
    step: StrictInt
    has_model: StrictBool


@dataclass(frozen=True, kw_only=True)
class Failed(Event):
    TYPE: ClassVar[str] = "failed"
    error: StrictStr
    detail: StrictStr = ""


@dataclass(frozen=True, kw_only=True)
class Evaluated(Event):
    """The test split judged once with the saved model (per-photo details in the run folder)."""

    TYPE: ClassVar[str] = "evaluated"
    split: StrictStr
    classes: list[StrictStr]
    confusion: list[list[StrictInt]]
    per_class: list[dict[StrictStr, Any]]
    accuracy: _Number


@dataclass(frozen=True)
class LogLine:
    """A line from the channel that is not a valid event; kept, never fatal."""

    text: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (Started, Progress, EpochEnd, Evaluated, Completed, Cancelled, Failed)
}
FINAL_TYPES = frozenset({"completed", "cancelled", "failed"})


class EventError(ValueError):
    """Raised by :func:`decode` when a line is not a valid v1 event."""


def _event_type(obj: Any) -> str | None:
    tag = obj.get("type") if isinstance(obj, dict) else None
    return tag if isinstance(tag, str) else None


def _tagged_union() -> Any:
    """Every event type as one union, validated as the member its ``type`` names."""
    members = (Annotated[cls, Tag(tag)] for tag, cls in EVENT_TYPES.items())
    return Annotated[reduce(or_, members), Discriminator(_event_type)]


_ANY_EVENT: TypeAdapter[Event] = TypeAdapter(_tagged_union())

# What a field should hold, by pydantic's error type, in the words of the annotations.
_EXPECTED = {
    "string_type": "str",
    "int_type": "int",
    "float_type": "float",
    "bool_type": "bool",
    "list_type": "list",
    "dict_type": "dict",
}


def decode(line: str | bytes) -> Event:
    """Parse one line strictly; raises :class:`EventError` saying what is wrong."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    return from_dict(obj)


def from_dict(obj: Any) -> Event:
    """Validate a parsed line: a v1 object whose ``type`` names an event, with its fields."""
    if not isinstance(obj, dict):
        raise EventError("an event must be a JSON object")
    version = obj.get("v")
    if type(version) is not int or version != VERSION:  # true and 1.0 equal 1 in Python
        raise EventError(f"unsupported event version {version!r}")
    try:
        event = _ANY_EVENT.validate_python(obj)
    except ValidationError as exc:
        raise EventError(_explain(obj, exc.errors()[0])) from None
    if "ts" not in obj:  # "now" is the default for an event being built, not for one being read
        raise EventError(f"{event.type} event lacks field 'ts'")
    return event


def _explain(obj: dict[str, Any], error: ErrorDetails) -> str:
    """One sentence naming the event type and the field that is wrong, for logs and tests."""
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"unknown event type {obj.get('type')!r}"
    event_type, *path = error["loc"]
    where = ".".join(str(part) for part in (event_type, *path))
    if error["type"] == "missing":
        return f"{event_type} event lacks field {path[-1]!r}"
    expected = _EXPECTED.get(error["type"])
    if expected is None:
        return f"{where}: {error['msg']}"
    return f"{where} should be {expected}, got {type(error['input']).__name__}"


def read_line(line: str | bytes) -> Event | LogLine:
    """Tolerant reader for a stream: an event, or the line kept as a log line."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    try:
        return decode(text)
    except EventError:
        return LogLine(text)
