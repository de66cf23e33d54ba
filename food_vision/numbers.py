"""Finite-number checks for values read from files and events, where NaN and inf may appear."""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """A real, finite number; booleans are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float, nested at any depth, replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    return value
