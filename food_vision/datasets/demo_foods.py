"""The demo's three foods, each drawn on a transparent layer from its own random generator."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from food_vision.datasets.demo_shapes import (
    Color,
    Point,
    box,
    ellipse_points,
    jitter,
    new_layer,
    paste_clipped,
    point_in_disk,
    shade,
    stripes,
)


def _food_center(rng: np.random.Generator, s: int, radius: float) -> Point:
    slack = max(0.0, s / 2 - radius) * 0.7
    return (s / 2 + rng.uniform(-slack, slack), s / 2 + rng.uniform(-slack, slack))


def _draw_pizza(rng: np.random.Generator, s: int) -> Image.Image:
    layer, d = new_layer(s)
    r = s * rng.uniform(0.27, 0.44)
    cx, cy = _food_center(rng, s, r)
    ry = r * rng.uniform(0.85, 1.0)  # a little perspective
    crust = jitter(rng, (206, 148, 78), 20)
    d.ellipse(box(cx, cy, r, ry), fill=crust, outline=shade(crust, 0.7), width=max(1, s // 90))
    inner = rng.uniform(0.78, 0.88)
    sauce = jitter(rng, (196, 58, 34), 20)
    d.ellipse(box(cx, cy, r * inner, ry * inner), fill=sauce)
    cheese = jitter(rng, (246, 214, 120), 14)
    for _ in range(int(rng.integers(7, 13))):  # melted cheese: blobs that stay on the sauce
        px, py = point_in_disk(rng, cx, cy, r * inner * 0.6)
        room = r * inner - math.hypot(px - cx, py - cy)
        blob = min(room * 0.95, r * rng.uniform(0.2, 0.42))
        d.ellipse(box(px, py, blob, blob * ry / r), fill=jitter(rng, cheese, 6))
    spot = max(1.0, r * 0.04)
    for _ in range(int(rng.integers(4, 12))):  # browned cheese spots
        px, py = point_in_disk(rng, cx, cy, r * inner * 0.9)
        d.ellipse(box(px, py, spot, spot), fill=shade(cheese, 0.82))
    for _ in range(int(rng.integers(3, 10))):  # pepperoni
        pr = r * rng.uniform(0.09, 0.14)
        px, py = point_in_disk(rng, cx, cy, r * inner - pr)
        pep = jitter(rng, (168, 36, 30), 16)
        d.ellipse(box(px, py, pr, pr * ry / r), fill=pep, outline=shade(pep, 0.7), width=1)
        d.ellipse(box(px - pr * 0.3, py - pr * 0.3, pr * 0.15, pr * 0.15), fill=shade(pep, 1.2))
    for _ in range(int(rng.integers(0, 9))):  # black olive rings
        orad = r * rng.uniform(0.035, 0.06)
        px, py = point_in_disk(rng, cx, cy, r * inner - orad)
        d.ellipse(
            box(px, py, orad, orad),
            outline=jitter(rng, (35, 30, 32), 10),
            width=max(1, int(orad * 0.55)),
        )
    for _ in range(int(rng.integers(0, 5))):  # basil leaves
        length = r * rng.uniform(0.08, 0.14)
        px, py = point_in_disk(rng, cx, cy, r * inner - length)
        leaf = ellipse_points(px, py, length, length * 0.45, rng.uniform(0, math.pi), n=10)
        d.polygon(leaf, fill=jitter(rng, (52, 122, 42), 14))
    if rng.random() < 0.5:  # cut lines between slices
        slices = int(rng.choice([4, 6, 8]))
        start = rng.uniform(0, 2 * math.pi)
        for k in range(slices):
            t = start + 2 * math.pi * k / slices
            end = (cx + r * inner * math.cos(t), cy + ry * inner * math.sin(t))
            d.line([(cx, cy), end], fill=shade(sauce, 0.75), width=max(1, s // 128))
    if rng.random() < 0.3:  # a slice already eaten
        start = rng.uniform(0, 360)
        d.pieslice(
            box(cx, cy, r + 2, ry + 2), start, start + rng.uniform(40, 70), fill=(0, 0, 0, 0)
        )
    return layer  # round, toppings scattered at random: no need to rotate


def _wobbly_outline(
    rng: np.random.Generator, cx: float, cy: float, a: float, b: float
) -> list[Point]:
    """An irregular closed outline: an ellipse whose radius wanders smoothly."""
    n = int(rng.integers(14, 20))
    phases = rng.uniform(0, 2 * math.pi, size=3)
    amps = rng.uniform(0.03, 0.12, size=3)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n + rng.uniform(-0.08, 0.08)
        wobble = 1 + sum(
            amp * math.sin((j + 2) * t + ph)
            for j, (amp, ph) in enumerate(zip(amps, phases, strict=True))
        )
        wobble += rng.uniform(-0.03, 0.03)
        points.append((cx + a * wobble * math.cos(t), cy + b * wobble * math.sin(t)))
    return points


def _scaled(points: Sequence[Point], cx: float, cy: float, factor: float) -> list[Point]:
    return [(cx + (x - cx) * factor, cy + (y - cy) * factor) for x, y in points]


def _draw_steak(rng: np.random.Generator, s: int) -> Image.Image:
    layer, d = new_layer(s)
    a = s * rng.uniform(0.3, 0.45)
    b = a * rng.uniform(0.55, 0.8)
    cx, cy = _food_center(rng, s, a)
    outline = _wobbly_outline(rng, cx, cy, a, b)
    meat = jitter(rng, (142, 70, 42), 18)
    d.polygon(outline, fill=shade(meat, 0.62))  # seared edge
    inner = _scaled(outline, cx, cy, rng.uniform(0.88, 0.94))
    d.polygon(inner, fill=meat)
    fat = jitter(rng, (234, 212, 176), 12)
    n = len(outline)
    start, span = int(rng.integers(n)), int(rng.integers(3, 7))  # fat cap along one edge
    cap = _scaled([outline[(start + k) % n] for k in range(span)], cx, cy, 0.95)
    d.line(cap, fill=fat, width=max(2, int(s * rng.uniform(0.02, 0.035))), joint="curve")
    marbling = shade(meat, 1.35)
    for _ in range(int(rng.integers(2, 6))):  # lighter fat streaks inside
        px, py = point_in_disk(rng, cx, cy, b * 0.6)
        t = rng.uniform(0, math.pi)
        seg = [
            (
                px + k * a * 0.12 * math.cos(t) + rng.uniform(-2, 2),
                py + k * a * 0.12 * math.sin(t) + rng.uniform(-2, 2),
            )
            for k in range(-2, 3)
        ]
        d.line(seg, fill=marbling, width=max(1, s // 110), joint="curve")
    clip = Image.new("L", (s, s), 0)
    ImageDraw.Draw(clip).polygon(inner, fill=255)
    angle = rng.uniform(0, math.pi)
    spacing = s * rng.uniform(0.06, 0.1)
    width = max(2, int(spacing * rng.uniform(0.25, 0.4)))
    grill = jitter(rng, (48, 24, 14), 10)
    paste_clipped(layer, stripes(s, angle, spacing, width, grill, rng.uniform(0, spacing)), clip)
    if rng.random() < 0.35:  # cross-hatched grill marks
        angle2 = angle + rng.uniform(1.0, 2.1)
        paste_clipped(
            layer, stripes(s, angle2, spacing, width, grill, rng.uniform(0, spacing)), clip
        )
    return layer


_FISH = {"salmon": (244, 128, 78), "tuna": (182, 34, 52)}
_RICE: Color = (242, 240, 230)
_NORI: Color = (26, 40, 30)


def _rice_grains(
    rng: np.random.Generator,
    d: ImageDraw.ImageDraw,
    area: tuple[float, float, float, float],
    rice: Color,
) -> None:
    x0, y0, x1, y1 = area
    grain = max(1.0, (x1 - x0) * 0.03)
    for _ in range(int(rng.integers(8, 18))):
        gx, gy = (
            rng.uniform(x0 + grain * 2, x1 - grain * 2),
            rng.uniform(y0 + grain * 2, y1 - grain * 2),
        )
        d.ellipse(box(gx, gy, grain * 1.6, grain), fill=shade(rice, rng.uniform(0.88, 0.95)))


def _nigiri(rng: np.random.Generator, w: float, fish: str) -> Image.Image:
    """One nigiri, lying along the x axis, in the middle of a small square layer."""
    side = math.ceil(w * 1.3) + 2
    layer, d = new_layer(side)
    px = py = side / 2
    h = w * rng.uniform(0.42, 0.55)
    rice = jitter(rng, _RICE, 6)
    rice_box = box(px, py, w / 2, h / 2)
    d.rounded_rectangle(rice_box, radius=h * 0.45, fill=rice)
    _rice_grains(rng, d, rice_box, rice)
    fw, fh = w * rng.uniform(0.92, 1.08), h * rng.uniform(0.7, 0.88)
    fish_box = box(px, py - h * 0.06, fw / 2, fh / 2)
    color = jitter(rng, _FISH[fish], 14)
    d.rounded_rectangle(fish_box, radius=fh * 0.45, fill=color)
    if fish == "salmon":  # white fat lines across the salmon
        clip = Image.new("L", (side, side), 0)
        ImageDraw.Draw(clip).rounded_rectangle(fish_box, radius=fh * 0.45, fill=255)
        spacing = fw * rng.uniform(0.12, 0.2)
        lines = stripes(
            side, rng.uniform(1.0, 1.3), spacing, max(1, int(fw * 0.03)), shade(color, 1.3), 0.0
        )
        paste_clipped(layer, lines, clip)
    if rng.random() < 0.5:  # a band of nori around the middle
        band = w * rng.uniform(0.1, 0.16)
        shift = rng.uniform(-0.1, 0.1) * w
        d.rectangle(box(px + shift, py, band / 2, h / 2 + 1), fill=jitter(rng, _NORI, 6))
    return layer


def _maki(rng: np.random.Generator, w: float, fish: str) -> Image.Image:
    """One maki roll seen from above, in the middle of a small square layer."""
    side = math.ceil(w) + 2
    layer, d = new_layer(side)
    px = py = side / 2
    radius = w * rng.uniform(0.3, 0.38)
    d.ellipse(box(px, py, radius, radius), fill=jitter(rng, _NORI, 6))
    rice = jitter(rng, _RICE, 6)
    rice_box = box(px, py, radius * 0.86, radius * 0.86)
    d.ellipse(rice_box, fill=rice)
    _rice_grains(rng, d, rice_box, rice)
    cucumber = rng.random() < 0.2
    filling = jitter(rng, (92, 158, 70) if cucumber else _FISH[fish], 12)
    core = radius * rng.uniform(0.3, 0.45)
    core_box = box(px, py, core, core * rng.uniform(0.7, 1.0))
    d.rounded_rectangle(core_box, radius=core * 0.4, fill=filling)
    return layer


def _composite_at(layer: Image.Image, piece: Image.Image, left: int, top: int) -> None:
    """Alpha-composite ``piece`` onto ``layer`` with its corner at (left, top), clipped."""
    source = (max(0, -left), max(0, -top))
    layer.alpha_composite(piece, dest=(max(0, left), max(0, top)), source=source)


def _draw_sushi(rng: np.random.Generator, s: int) -> Image.Image:
    pieces = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.3, 0.25, 0.15]))
    style = _nigiri if rng.random() < 0.65 else _maki
    w = s * rng.uniform(0.45, 0.7) / (1 + 0.35 * (pieces - 1))
    if style is _maki:
        w *= 1.4
    step = w * (0.62 if style is _nigiri else 0.85) * rng.uniform(1.0, 1.2)
    fit = min(1.0, s * 0.9 / (step * (pieces - 1) + w))  # keep the whole row in the picture
    w, step = w * fit, step * fit
    angle = rng.uniform(0, 2 * math.pi)
    cx, cy = _food_center(rng, s, step * (pieces - 1) / 2 + w / 2)
    layer, _ = new_layer(s)
    for k in range(pieces):
        off = (k - (pieces - 1) / 2) * step
        px, py = cx - off * math.sin(angle), cy + off * math.cos(angle)
        fish = "salmon" if rng.random() < 0.55 else "tuna"
        piece = style(rng, w, fish)
        tilt = math.degrees(-angle) + rng.uniform(-12, 12)
        piece = piece.rotate(tilt, resample=Image.Resampling.BILINEAR)
        _composite_at(layer, piece, round(px - piece.width / 2), round(py - piece.height / 2))
    if rng.random() < 0.25:  # a dab of wasabi
        wx, wy = point_in_disk(rng, s / 2, s / 2, s * 0.42)
        dab = s * rng.uniform(0.03, 0.05)
        wasabi = jitter(rng, (150, 182, 60), 12)
        ImageDraw.Draw(layer).ellipse(box(wx, wy, dab * 1.3, dab), fill=wasabi)
    return layer


FOOD_DRAWERS: dict[str, Callable[[np.random.Generator, int], Image.Image]] = {
    "pizza": _draw_pizza,
    "steak": _draw_steak,
    "sushi": _draw_sushi,
}
