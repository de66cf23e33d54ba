"""Byte counts written the way people read them, for limits named in error messages."""

from __future__ import annotations


def human_size(n: int) -> str:
    """``n`` bytes as "512 bytes", "1.5 KiB", "2.0 MiB" or "8.0 GiB"."""
    if n < 1024:
        return f"{n} bytes"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"
