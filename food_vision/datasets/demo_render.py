"""Drawing one demo picture: a food on a table-like background, finished like a phone photo."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from food_vision.datasets.demo_foods import FOOD_DRAWERS
from food_vision.datasets.demo_shapes import random_color
from food_vision.datasets.naming import SAMPLES_DIR

DEMO_CLASSES: tuple[str, ...] = tuple(FOOD_DRAWERS)
FORMAT_VERSION = 1  # bump when the drawings change, so an old tree is not mistaken for a new one

_SPLIT_IDS = {"train": 1, "test": 2, SAMPLES_DIR: 3}
_SUPERSAMPLE = 2  # draw at twice the size, then halve: cheap anti-aliasing


def render_demo_image(label: str, rng: np.random.Generator, *, size: int = 128) -> Image.Image:
    """Draw one ``size`` x ``size`` RGB picture of ``label`` (one of ``DEMO_CLASSES``)."""
    try:
        draw_food = FOOD_DRAWERS[label]
    except KeyError:
        raise ValueError(f"unknown demo class {label!r}; expected one of {DEMO_CLASSES}") from None
    s = size * _SUPERSAMPLE
    canvas = _background(rng, s)
    food = draw_food(rng, s)
    _shadow_and_paste(canvas, food, rng)
    if _SUPERSAMPLE > 1:
        canvas = canvas.reduce(_SUPERSAMPLE)
    if rng.random() < 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.8))))
    return _photo_effects(canvas, rng)


def demo_image_rng(seed: int, split: str, class_index: int, index: int) -> np.random.Generator:
    """The generator that draws image ``index`` of class ``class_index`` in ``split``."""
    return np.random.default_rng([FORMAT_VERSION, seed, _SPLIT_IDS[split], class_index, index])


def _background(rng: np.random.Generator, s: int) -> Image.Image:
    """A table-like texture: wood, gingham cloth, a plate on a surface, or a mottled colour.

    Computed at the final resolution and scaled up to the drawing size ``s``: textures need no
    super-sampling, and the numpy work is four times smaller.
    """
    n = max(8, s // _SUPERSAMPLE)
    coords = (np.arange(n, dtype=np.float32) + 0.5) / n
    xx, yy = coords[None, :], coords[:, None]
    angle = rng.uniform(0, math.pi)
    ca, sa = np.float32(math.cos(angle)), np.float32(math.sin(angle))
    u = xx * ca + yy * sa
    v = yy * ca - xx * sa
    kind = int(rng.integers(4))
    if kind == 0:  # wood: warped sinusoidal grain
        base = np.array(random_color(rng, (0.25, 0.65), (0.35, 0.85)), np.float32)
        warp = np.float32(0.04) * np.sin(
            u * np.float32(rng.uniform(3, 8)) + np.float32(rng.uniform(0, 6.3))
        )
        grain = np.sin(
            (v + warp) * np.float32(rng.uniform(25, 55)) + np.float32(rng.uniform(0, 6.3))
        )
        fine = np.sin((v + 2 * warp) * np.float32(rng.uniform(60, 90)))
        shade = np.float32(0.85) + np.float32(0.1) * grain + np.float32(0.04) * fine
        img = shade[..., None] * base
    elif kind == 1:  # gingham tablecloth: two crossing stripe sets, three tones
        cell = np.float32(rng.uniform(0.06, 0.16))
        mix = ((np.floor(u / cell) % 2 + np.floor(v / cell) % 2) / 2)[..., None]
        light = np.array(random_color(rng, (0.0, 0.12), (0.85, 1.0)), np.float32)
        dark = np.array(random_color(rng, (0.4, 0.9), (0.35, 0.8)), np.float32)
        img = light + (dark - light) * mix
    elif kind == 2:  # a plate (light disk with a rim) on a plain surface
        surface = np.array(random_color(rng, (0.1, 0.6), (0.25, 0.8)), np.float32)
        plate = np.array(random_color(rng, (0.0, 0.15), (0.82, 1.0)), np.float32)
        cx, cy = (np.float32(c) for c in rng.uniform(0.42, 0.58, size=2))
        dist = np.hypot(xx - cx, yy - cy)
        radius = rng.uniform(0.42, 0.55)
        tone = np.where(dist < radius * 0.82, 1.0, np.where(dist < radius, 0.93, 0.0))
        inside = tone.astype(np.float32)[..., None]
        img = surface + (plate * inside - surface * (inside > 0))
    else:  # mottled: a random colour with low-frequency blotches
        base = np.array(random_color(rng, (0.05, 0.7), (0.3, 0.95)), np.float32)
        img = np.broadcast_to(base, (n, n, 3))
    img = img * _blotches(rng, n, strength=rng.uniform(0.04, 0.15))[..., None]
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    return small if n == s else small.resize((s, s), Image.Resampling.BILINEAR)


def _blotches(rng: np.random.Generator, s: int, *, strength: float) -> np.ndarray:
    """Smooth random brightness variation around 1.0 (a small grid, upsampled)."""
    n = int(rng.integers(3, 7))
    grid = rng.uniform(-1, 1, size=(n, n)).astype(np.float32)
    small = Image.fromarray(grid).resize((s, s), Image.Resampling.BICUBIC)
    return 1.0 + strength * np.asarray(small, np.float32)


_SHADOW_LUT = [int(v * 0.4) for v in range(256)]


def _shadow_and_paste(canvas: Image.Image, food: Image.Image, rng: np.random.Generator) -> None:
    """Cast a soft shadow from ``food`` onto ``canvas``, then paste the food on top."""
    s = canvas.width
    alpha = food.getchannel("A")
    # Blurred at a quarter of the size, then scaled back: soft anyway, and much cheaper.
    small = alpha.reduce(4).point(_SHADOW_LUT)
    shadow = Image.new("L", small.size, 0)
    shadow.paste(
        small,
        (int(small.width * rng.uniform(0.01, 0.03)), int(small.height * rng.uniform(0.015, 0.035))),
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(radius=max(0.5, small.width / 70)))
    canvas.paste((0, 0, 0), (0, 0, s, s), shadow.resize((s, s), Image.Resampling.BILINEAR))
    canvas.paste(food, (0, 0), alpha)


def _photo_effects(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Uneven light, a colour cast and sensor noise, as in a phone photo."""
    size = image.width
    arr = np.asarray(image, dtype=np.float32)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    t = rng.uniform(0, 2 * math.pi)
    slope = rng.uniform(0.0, 0.35)
    gx, gy = np.float32(slope * math.cos(t)), np.float32(slope * math.sin(t))
    light = 1.0 + coords[None, :] * gx + coords[:, None] * gy
    gain = rng.uniform(0.92, 1.08, size=3) * rng.uniform(0.85, 1.1)  # colour cast, exposure
    lit = arr * light[..., None] * gain.astype(np.float32)
    lit += rng.standard_normal(lit.shape, dtype=np.float32) * np.float32(rng.uniform(2.0, 9.0))
    return Image.fromarray(np.clip(lit + 0.5, 0, 255).astype(np.uint8))
