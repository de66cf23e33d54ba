"""The v1 training event stream: typed events, one JSON object per line.

The trainer writes these on a dedicated channel; the server reads them. Any line that is not a
valid event is turned into a :class:`LogLine` so that a stray print never breaks the stream.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from food_vision.numbers import finite_or_none

VERSION = 1


@dataclass(frozen=True)
class Event:
    """Fields common to every event; subclasses add their own and name their ``type``."""

    TYPE: ClassVar[str] = ""
    run_id: str
    ts: float = field(default_factory=time.time, kw_only=True)

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


@dataclass(frozen=True)
class Started(Event):
    TYPE: ClassVar[str] = "started"
    config: dict[str, Any]
    device: str
    classes: list[str]
    num_train: int
    num_test: int
    epochs: int
    steps_per_epoch: int


@dataclass(frozen=True)
class Progress(Event):
    TYPE: ClassVar[str] = "progress"
    epoch: int
    step: int
    steps: int
    loss: float
    images_per_sec: float


@dataclass(frozen=True)
class EpochEnd(Event):
    TYPE: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float


@dataclass(frozen=True)
class Completed(Event):
    TYPE: ClassVar[str] = "completed"
    metrics: dict[str, float]
    model_path: str


@dataclass(frozen=True)
class Cancelled(Event):
    TYPE: ClassVar[str] = "cancelled"
    epoch: int
    step: int
    has_model: bool


@dataclass(frozen=True)
class Failed(Event):
    TYPE: ClassVar[str] = "failed"
    error: str
    detail: str = ""


@dataclass(frozen=True)
class LogLine:
    """A line from the channel that is not a valid event; kept, never fatal."""

    text: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (Started, Progress, EpochEnd, Completed, Cancelled, Failed)
}
FINAL_TYPES = frozenset({"completed", "cancelled", "failed"})


class EventError(ValueError):
    """Raised by :func:`decode` when a line is not a valid v1 event."""


def decode(line: str | bytes) -> Event:
    """Parse one line strictly; raises :class:`EventError` saying what is wrong."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    return from_dict(obj)


def from_dict(obj: Any) -> Event:
    if not isinstance(obj, dict):
        raise EventError("an event must be a JSON object")
    if obj.get("v") != VERSION:
        raise EventError(f"unsupported event version {obj.get('v')!r}")
    cls = EVENT_TYPES.get(obj.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise EventError(f"unknown event type {obj.get('type')!r}")
    kwargs: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name not in obj:
            if spec.name == "detail":
                continue
            raise EventError(f"{cls.TYPE} event lacks field {spec.name!r}")
        kwargs[spec.name] = _checked(cls.TYPE, spec.name, spec.type, obj[spec.name])
    return cls(**kwargs)


def read_line(line: str | bytes) -> Event | LogLine:
    """Tolerant reader for a stream: an event, or the line kept as a log line."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    try:
        return decode(text)
    except EventError:
        return LogLine(text)


_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list[str]": (list,),
    "dict[str, Any]": (dict,),
    "dict[str, float]": (dict,),
}


def _checked(event_type: str, name: str, annotation: Any, value: Any) -> Any:
    kinds = _KINDS[str(annotation)]
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if annotation == "float" and value is None:
        return math.nan
    if not ok:
        raise EventError(f"{event_type}.{name} should be {annotation}, got {type(value).__name__}")
    if annotation == "float":
        return float(value)
    if annotation == "list[str]" and not all(isinstance(item, str) for item in value):
        raise EventError(f"{event_type}.{name} should be a list of strings")
    return value
