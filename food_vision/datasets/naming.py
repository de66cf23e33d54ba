"""The names a dataset folder is built from, in one place so every layer agrees on them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

SPLITS: tuple[str, ...] = ("train", "test")
SAMPLES_DIR = "samples"  # extra pictures for the prediction panel, in neither split
MAX_DATASET_NAME_CHARS = 64
# A plain folder name: no separator, never hidden, never "." or "..".
DATASET_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_DATASET_NAME_CHARS - 1}}}")


def is_valid_dataset_name(name: str) -> bool:
    """True when ``name`` can be a dataset's folder name inside the data directory."""
    return DATASET_NAME.fullmatch(name) is not None


MAX_CLASS_NAME_CHARS = 64
# Device names Windows refuses as file names (with any extension): a dataset copied there, or
# zipped and opened there, must still work.
RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}
)
# A class named like a split would make a folder of classes look like a split layout.
LAYOUT_NAMES = frozenset({*SPLITS, SAMPLES_DIR})
_FORBIDDEN_CHARS = frozenset('/\\:*?"<>|')


class InvalidName(ValueError):
    """A dataset or class name that cannot be used, with the rule it breaks."""


def folded(name: str) -> str:
    """The form under which two names are the same on many systems: one Unicode spelling
    (NFC), case ignored."""
    return unicodedata.normalize("NFC", name).casefold()


def same_name(name: str, names: Sequence[str]) -> str | None:
    """The one of ``names`` that is ``name`` apart from case or Unicode spelling, if any."""
    key = folded(name)
    return next((other for other in names if folded(other) == key), None)


def is_reserved_name(name: str) -> bool:
    """True for a name Windows keeps for devices (``con``, ``com1.txt``, any case)."""
    return name.split(".")[0].strip().lower() in RESERVED_NAMES


def check_dataset_name(name: str) -> str:
    """``name`` when it can name a new dataset folder; else :class:`InvalidName` says why."""
    if not is_valid_dataset_name(name):
        raise InvalidName(
            f"{name[:80]!r} is not a dataset name: 1 to {MAX_DATASET_NAME_CHARS} letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    if is_reserved_name(name):
        raise InvalidName(f"{name!r} is reserved by Windows for a device; choose another name")
    return name


def check_class_name(name: str) -> str:
    """The class name as stored (Unicode NFC, outer spaces removed); :class:`InvalidName`
    says which rule it breaks. Class names become folder names on any system."""
    text = unicodedata.normalize("NFC", name).strip()
    if not text:
        raise InvalidName("a class name is required")
    if len(text) > MAX_CLASS_NAME_CHARS:
        raise InvalidName(f"class names have at most {MAX_CLASS_NAME_CHARS} characters")
    bad = sorted({c for c in text if c in _FORBIDDEN_CHARS or unicodedata.category(c)[0] == "C"})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise InvalidName(f"class name {text!r} has characters a folder name cannot: {shown}")
    if text.startswith(".") or text.endswith("."):
        raise InvalidName(f"class name {text!r} must not start or end with '.'")
    if is_reserved_name(text) or text.lower() in LAYOUT_NAMES:
        raise InvalidName(f"{text!r} is a reserved name; choose another class name")
    return text
