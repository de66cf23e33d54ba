"""Colours and shapes that the demo's food drawings are made of."""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw

Color = tuple[int, int, int]
Point = tuple[float, float]


def _clip8(value: float) -> int:
    return int(min(255.0, max(0.0, value)))


def jitter(rng: np.random.Generator, base: Color, spread: float = 18.0) -> Color:
    """``base`` with a random brightness and a small per-channel shift."""
    gain = rng.uniform(0.85, 1.12)
    r, g, b = (_clip8(c * gain + rng.uniform(-spread, spread)) for c in base)
    return (r, g, b)


def shade(color: Color, factor: float) -> Color:
    r, g, b = (_clip8(c * factor) for c in color)
    return (r, g, b)


def random_color(
    rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]
) -> Color:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val))
    return (_clip8(r * 255), _clip8(g * 255), _clip8(b * 255))


def box(cx: float, cy: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    return (cx - rx, cy - ry, cx + rx, cy + ry)


def ellipse_points(
    cx: float, cy: float, a: float, b: float, angle: float, n: int = 14
) -> list[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = a * math.cos(t), b * math.sin(t)
        points.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return points


def point_in_disk(rng: np.random.Generator, cx: float, cy: float, radius: float) -> Point:
    r = radius * math.sqrt(rng.random())
    t = rng.uniform(0, 2 * math.pi)
    return (cx + r * math.cos(t), cy + r * math.sin(t))


def new_layer(s: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    return layer, ImageDraw.Draw(layer)


def paste_clipped(layer: Image.Image, overlay: Image.Image, clip: Image.Image) -> None:
    """Paste the RGBA ``overlay`` onto ``layer`` only where the L mask ``clip`` is set."""
    layer.paste(overlay, (0, 0), ImageChops.multiply(overlay.getchannel("A"), clip))


def stripes(
    s: int, angle: float, spacing: float, width: int, color: Color, phase: float
) -> Image.Image:
    """An RGBA layer of parallel lines across the whole canvas."""
    layer, draw = new_layer(s)
    dx, dy = math.cos(angle), math.sin(angle)  # along the stripes
    nx, ny = -dy, dx  # across them
    c = s / 2
    reach = s * 0.75
    for k in range(-int(reach / spacing) - 1, int(reach / spacing) + 2):
        off = k * spacing + phase
        x0, y0 = c + nx * off, c + ny * off
        draw.line(
            [(x0 - dx * reach, y0 - dy * reach), (x0 + dx * reach, y0 + dy * reach)],
            fill=(*color, 255),
            width=width,
        )
    return layer
