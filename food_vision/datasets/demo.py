"""The offline demo dataset: synthetic pizza / steak / sushi drawings, made deterministically.

``generate_demo(root)`` writes an ImageFolder tree::

    root/train/<class>/000.jpg ...   root/test/<class>/000.jpg ...
    root/samples/<class>_0.jpg ...   (extra images for the prediction panel, in neither split)
    root/.complete                   (JSON of the parameters, written last)

Each image is drawn from its own random generator, seeded by (seed, split, class, index), so
the bytes depend on nothing else: a tiny dataset is a prefix of a big one made with the same
seed, and two generations with one seed are identical. The tree is built in a hidden temporary
folder beside ``root`` and renamed into place, so a killed generation never leaves a half-made
``root``.
"""

from __future__ import annotations

import colorsys
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

DEMO_CLASSES: tuple[str, ...] = ("pizza", "steak", "sushi")
SPLITS: tuple[str, ...] = ("train", "test")
SAMPLES_DIR = "samples"
MARKER = ".complete"
JPEG_QUALITY = 90
FORMAT_VERSION = 1  # bump when the drawings change, so an old tree is not mistaken for a new one

_SPLIT_IDS = {"train": 1, "test": 2, SAMPLES_DIR: 3}
_SUPERSAMPLE = 2  # draw at twice the size, then halve: cheap anti-aliasing
_STALE_TEMP_SECONDS = 3600.0

Color = tuple[int, int, int]
Point = tuple[float, float]


# --------------------------------------------------------------------------- public API


def generate_demo(
    root: Path,
    *,
    seed: int = 0,
    train_per_class: int = 100,
    test_per_class: int = 30,
    size: int = 128,
    samples_per_class: int = 2,
) -> Path:
    """Make the demo dataset at ``root`` unless it is already complete there; return ``root``.

    Raises ``ValueError`` for bad arguments or when ``root`` holds a demo made with other
    parameters, and ``FileExistsError`` when ``root`` is a non-empty folder that is not a demo.
    """
    root = Path(root)
    params = _params(
        seed=seed,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        size=size,
        samples_per_class=samples_per_class,
    )
    if is_demo_complete(root):
        _check_marker(root, params)
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists but is not a complete demo dataset; remove it first")

    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _write_tree(tmp, params)
        (tmp / MARKER).write_text(json.dumps(params, sort_keys=True) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
        try:
            os.replace(tmp, root)  # atomic; replaces an empty folder, fails on a non-empty one
        except OSError:
            if not is_demo_complete(root):  # someone else finished first: theirs is as good
                raise
            _check_marker(root, params)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def is_demo_complete(root: Path) -> bool:
    """True when ``root`` holds a finished demo tree (its marker file exists)."""
    return (Path(root) / MARKER).is_file()


def render_demo_image(label: str, rng: np.random.Generator, *, size: int = 128) -> Image.Image:
    """Draw one ``size`` x ``size`` RGB picture of ``label`` (one of ``DEMO_CLASSES``)."""
    try:
        draw_food = _DRAWERS[label]
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


# --------------------------------------------------------------------------- the tree


def _params(**params: int) -> dict[str, int]:
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if params["seed"] < 0:
        raise ValueError(f"seed must be >= 0, got {params['seed']}")
    for name in ("train_per_class", "test_per_class"):
        if params[name] < 1:
            raise ValueError(f"{name} must be >= 1, got {params[name]}")
    if params["samples_per_class"] < 0:
        raise ValueError(f"samples_per_class must be >= 0, got {params['samples_per_class']}")
    if not 16 <= params["size"] <= 1024:
        raise ValueError(f"size must be between 16 and 1024, got {params['size']}")
    return {"version": FORMAT_VERSION, **params}


def _check_marker(root: Path, params: dict[str, int]) -> None:
    try:
        found = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if found != params:
        raise ValueError(
            f"{root} holds a demo dataset made with other parameters ({found} instead of "
            f"{params}); remove it to generate a new one"
        )


def _remove_stale_temps(root: Path) -> None:
    """Remove temporary trees that a killed generation left beside ``root`` long ago."""
    now = time.time()
    for leftover in root.parent.glob(f".{root.name}.tmp-*"):
        try:
            if leftover.is_dir() and now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _write_tree(tmp: Path, params: dict[str, int]) -> None:
    seed, size = params["seed"], params["size"]
    counts = {"train": params["train_per_class"], "test": params["test_per_class"]}
    for split, count in counts.items():
        width = max(3, len(str(count - 1)))
        for class_index, label in enumerate(DEMO_CLASSES):
            folder = tmp / split / label
            folder.mkdir(parents=True)
            for index in range(count):
                rng = demo_image_rng(seed, split, class_index, index)
                _save_jpeg(
                    render_demo_image(label, rng, size=size), folder / f"{index:0{width}d}.jpg"
                )
    samples = tmp / SAMPLES_DIR
    samples.mkdir()
    for class_index, label in enumerate(DEMO_CLASSES):
        for index in range(params["samples_per_class"]):
            rng = demo_image_rng(seed, SAMPLES_DIR, class_index, index)
            _save_jpeg(render_demo_image(label, rng, size=size), samples / f"{label}_{index}.jpg")


def _save_jpeg(image: Image.Image, path: Path) -> None:
    image.save(path, format="JPEG", quality=JPEG_QUALITY, subsampling=0)


# --------------------------------------------------------------------------- drawing helpers


def _clip8(value: float) -> int:
    return int(min(255.0, max(0.0, value)))


def _jitter(rng: np.random.Generator, base: Color, spread: float = 18.0) -> Color:
    """``base`` with a random brightness and a small per-channel shift."""
    gain = rng.uniform(0.85, 1.12)
    r, g, b = (_clip8(c * gain + rng.uniform(-spread, spread)) for c in base)
    return (r, g, b)


def _shade(color: Color, factor: float) -> Color:
    r, g, b = (_clip8(c * factor) for c in color)
    return (r, g, b)


def _random_color(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]):
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val))
    return (_clip8(r * 255), _clip8(g * 255), _clip8(b * 255))


def _box(cx: float, cy: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    return (cx - rx, cy - ry, cx + rx, cy + ry)


def _ellipse_points(cx: float, cy: float, a: float, b: float, angle: float, n: int = 14):
    ca, sa = math.cos(angle), math.sin(angle)
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = a * math.cos(t), b * math.sin(t)
        points.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return points


def _point_in_disk(rng: np.random.Generator, cx: float, cy: float, radius: float) -> Point:
    r = radius * math.sqrt(rng.random())
    t = rng.uniform(0, 2 * math.pi)
    return (cx + r * math.cos(t), cy + r * math.sin(t))


def _new_layer(s: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    return layer, ImageDraw.Draw(layer)


def _paste_clipped(layer: Image.Image, overlay: Image.Image, clip: Image.Image) -> None:
    """Paste the RGBA ``overlay`` onto ``layer`` only where the L mask ``clip`` is set."""
    layer.paste(overlay, (0, 0), ImageChops.multiply(overlay.getchannel("A"), clip))


def _stripes(s: int, angle: float, spacing: float, width: int, color: Color, phase: float):
    """An RGBA layer of parallel lines across the whole canvas."""
    layer, draw = _new_layer(s)
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


# --------------------------------------------------------------------------- backgrounds


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
        base = np.array(_random_color(rng, (0.25, 0.65), (0.35, 0.85)), np.float32)
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
        light = np.array(_random_color(rng, (0.0, 0.12), (0.85, 1.0)), np.float32)
        dark = np.array(_random_color(rng, (0.4, 0.9), (0.35, 0.8)), np.float32)
        img = light + (dark - light) * mix
    elif kind == 2:  # a plate (light disk with a rim) on a plain surface
        surface = np.array(_random_color(rng, (0.1, 0.6), (0.25, 0.8)), np.float32)
        plate = np.array(_random_color(rng, (0.0, 0.15), (0.82, 1.0)), np.float32)
        cx, cy = (np.float32(c) for c in rng.uniform(0.42, 0.58, size=2))
        dist = np.hypot(xx - cx, yy - cy)
        radius = rng.uniform(0.42, 0.55)
        tone = np.where(dist < radius * 0.82, 1.0, np.where(dist < radius, 0.93, 0.0))
        inside = tone.astype(np.float32)[..., None]
        img = surface + (plate * inside - surface * (inside > 0))
    else:  # mottled: a random colour with low-frequency blotches
        base = np.array(_random_color(rng, (0.05, 0.7), (0.3, 0.95)), np.float32)
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


# --------------------------------------------------------------------------- foods


def _food_center(rng: np.random.Generator, s: int, radius: float) -> Point:
    slack = max(0.0, s / 2 - radius) * 0.7
    return (s / 2 + rng.uniform(-slack, slack), s / 2 + rng.uniform(-slack, slack))


def _draw_pizza(rng: np.random.Generator, s: int) -> Image.Image:
    layer, d = _new_layer(s)
    r = s * rng.uniform(0.27, 0.44)
    cx, cy = _food_center(rng, s, r)
    ry = r * rng.uniform(0.85, 1.0)  # a little perspective
    crust = _jitter(rng, (206, 148, 78), 20)
    d.ellipse(_box(cx, cy, r, ry), fill=crust, outline=_shade(crust, 0.7), width=max(1, s // 90))
    inner = rng.uniform(0.78, 0.88)
    sauce = _jitter(rng, (196, 58, 34), 20)
    d.ellipse(_box(cx, cy, r * inner, ry * inner), fill=sauce)
    cheese = _jitter(rng, (246, 214, 120), 14)
    for _ in range(int(rng.integers(7, 13))):  # melted cheese: blobs that stay on the sauce
        px, py = _point_in_disk(rng, cx, cy, r * inner * 0.6)
        room = r * inner - math.hypot(px - cx, py - cy)
        blob = min(room * 0.95, r * rng.uniform(0.2, 0.42))
        d.ellipse(_box(px, py, blob, blob * ry / r), fill=_jitter(rng, cheese, 6))
    spot = max(1.0, r * 0.04)
    for _ in range(int(rng.integers(4, 12))):  # browned cheese spots
        px, py = _point_in_disk(rng, cx, cy, r * inner * 0.9)
        d.ellipse(_box(px, py, spot, spot), fill=_shade(cheese, 0.82))
    for _ in range(int(rng.integers(3, 10))):  # pepperoni
        pr = r * rng.uniform(0.09, 0.14)
        px, py = _point_in_disk(rng, cx, cy, r * inner - pr)
        pep = _jitter(rng, (168, 36, 30), 16)
        d.ellipse(_box(px, py, pr, pr * ry / r), fill=pep, outline=_shade(pep, 0.7), width=1)
        d.ellipse(_box(px - pr * 0.3, py - pr * 0.3, pr * 0.15, pr * 0.15), fill=_shade(pep, 1.2))
    for _ in range(int(rng.integers(0, 9))):  # black olive rings
        orad = r * rng.uniform(0.035, 0.06)
        px, py = _point_in_disk(rng, cx, cy, r * inner - orad)
        d.ellipse(
            _box(px, py, orad, orad),
            outline=_jitter(rng, (35, 30, 32), 10),
            width=max(1, int(orad * 0.55)),
        )
    for _ in range(int(rng.integers(0, 5))):  # basil leaves
        length = r * rng.uniform(0.08, 0.14)
        px, py = _point_in_disk(rng, cx, cy, r * inner - length)
        leaf = _ellipse_points(px, py, length, length * 0.45, rng.uniform(0, math.pi), n=10)
        d.polygon(leaf, fill=_jitter(rng, (52, 122, 42), 14))
    if rng.random() < 0.5:  # cut lines between slices
        slices = int(rng.choice([4, 6, 8]))
        start = rng.uniform(0, 2 * math.pi)
        for k in range(slices):
            t = start + 2 * math.pi * k / slices
            end = (cx + r * inner * math.cos(t), cy + ry * inner * math.sin(t))
            d.line([(cx, cy), end], fill=_shade(sauce, 0.75), width=max(1, s // 128))
    if rng.random() < 0.3:  # a slice already eaten
        start = rng.uniform(0, 360)
        d.pieslice(
            _box(cx, cy, r + 2, ry + 2), start, start + rng.uniform(40, 70), fill=(0, 0, 0, 0)
        )
    return layer  # round, toppings scattered at random: no need to rotate


def _wobbly_outline(rng: np.random.Generator, cx: float, cy: float, a: float, b: float):
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
    layer, d = _new_layer(s)
    a = s * rng.uniform(0.3, 0.45)
    b = a * rng.uniform(0.55, 0.8)
    cx, cy = _food_center(rng, s, a)
    outline = _wobbly_outline(rng, cx, cy, a, b)
    meat = _jitter(rng, (142, 70, 42), 18)
    d.polygon(outline, fill=_shade(meat, 0.62))  # seared edge
    inner = _scaled(outline, cx, cy, rng.uniform(0.88, 0.94))
    d.polygon(inner, fill=meat)
    fat = _jitter(rng, (234, 212, 176), 12)
    n = len(outline)
    start, span = int(rng.integers(n)), int(rng.integers(3, 7))  # fat cap along one edge
    cap = _scaled([outline[(start + k) % n] for k in range(span)], cx, cy, 0.95)
    d.line(cap, fill=fat, width=max(2, int(s * rng.uniform(0.02, 0.035))), joint="curve")
    marbling = _shade(meat, 1.35)
    for _ in range(int(rng.integers(2, 6))):  # lighter fat streaks inside
        px, py = _point_in_disk(rng, cx, cy, b * 0.6)
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
    grill = _jitter(rng, (48, 24, 14), 10)
    _paste_clipped(layer, _stripes(s, angle, spacing, width, grill, rng.uniform(0, spacing)), clip)
    if rng.random() < 0.35:  # cross-hatched grill marks
        angle2 = angle + rng.uniform(1.0, 2.1)
        _paste_clipped(
            layer, _stripes(s, angle2, spacing, width, grill, rng.uniform(0, spacing)), clip
        )
    return layer


_FISH = {"salmon": (244, 128, 78), "tuna": (182, 34, 52)}
_RICE: Color = (242, 240, 230)
_NORI: Color = (26, 40, 30)


def _rice_grains(rng: np.random.Generator, d: ImageDraw.ImageDraw, box, rice: Color) -> None:
    x0, y0, x1, y1 = box
    grain = max(1.0, (x1 - x0) * 0.03)
    for _ in range(int(rng.integers(8, 18))):
        gx, gy = (
            rng.uniform(x0 + grain * 2, x1 - grain * 2),
            rng.uniform(y0 + grain * 2, y1 - grain * 2),
        )
        d.ellipse(_box(gx, gy, grain * 1.6, grain), fill=_shade(rice, rng.uniform(0.88, 0.95)))


def _nigiri(rng: np.random.Generator, w: float, fish: str) -> Image.Image:
    """One nigiri, lying along the x axis, in the middle of a small square layer."""
    side = math.ceil(w * 1.3) + 2
    layer, d = _new_layer(side)
    px = py = side / 2
    h = w * rng.uniform(0.42, 0.55)
    rice = _jitter(rng, _RICE, 6)
    rice_box = _box(px, py, w / 2, h / 2)
    d.rounded_rectangle(rice_box, radius=h * 0.45, fill=rice)
    _rice_grains(rng, d, rice_box, rice)
    fw, fh = w * rng.uniform(0.92, 1.08), h * rng.uniform(0.7, 0.88)
    fish_box = _box(px, py - h * 0.06, fw / 2, fh / 2)
    color = _jitter(rng, _FISH[fish], 14)
    d.rounded_rectangle(fish_box, radius=fh * 0.45, fill=color)
    if fish == "salmon":  # white fat lines across the salmon
        clip = Image.new("L", (side, side), 0)
        ImageDraw.Draw(clip).rounded_rectangle(fish_box, radius=fh * 0.45, fill=255)
        spacing = fw * rng.uniform(0.12, 0.2)
        lines = _stripes(
            side, rng.uniform(1.0, 1.3), spacing, max(1, int(fw * 0.03)), _shade(color, 1.3), 0.0
        )
        _paste_clipped(layer, lines, clip)
    if rng.random() < 0.5:  # a band of nori around the middle
        band = w * rng.uniform(0.1, 0.16)
        shift = rng.uniform(-0.1, 0.1) * w
        d.rectangle(_box(px + shift, py, band / 2, h / 2 + 1), fill=_jitter(rng, _NORI, 6))
    return layer


def _maki(rng: np.random.Generator, w: float, fish: str) -> Image.Image:
    """One maki roll seen from above, in the middle of a small square layer."""
    side = math.ceil(w) + 2
    layer, d = _new_layer(side)
    px = py = side / 2
    radius = w * rng.uniform(0.3, 0.38)
    d.ellipse(_box(px, py, radius, radius), fill=_jitter(rng, _NORI, 6))
    rice = _jitter(rng, _RICE, 6)
    rice_box = _box(px, py, radius * 0.86, radius * 0.86)
    d.ellipse(rice_box, fill=rice)
    _rice_grains(rng, d, rice_box, rice)
    cucumber = rng.random() < 0.2
    filling = _jitter(rng, (92, 158, 70) if cucumber else _FISH[fish], 12)
    core = radius * rng.uniform(0.3, 0.45)
    core_box = _box(px, py, core, core * rng.uniform(0.7, 1.0))
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
    layer, _ = _new_layer(s)
    for k in range(pieces):
        off = (k - (pieces - 1) / 2) * step
        px, py = cx - off * math.sin(angle), cy + off * math.cos(angle)
        fish = "salmon" if rng.random() < 0.55 else "tuna"
        piece = style(rng, w, fish)
        tilt = math.degrees(-angle) + rng.uniform(-12, 12)
        piece = piece.rotate(tilt, resample=Image.Resampling.BILINEAR)
        _composite_at(layer, piece, round(px - piece.width / 2), round(py - piece.height / 2))
    if rng.random() < 0.25:  # a dab of wasabi
        wx, wy = _point_in_disk(rng, s / 2, s / 2, s * 0.42)
        dab = s * rng.uniform(0.03, 0.05)
        wasabi = _jitter(rng, (150, 182, 60), 12)
        ImageDraw.Draw(layer).ellipse(_box(wx, wy, dab * 1.3, dab), fill=wasabi)
    return layer


_DRAWERS: dict[str, Callable[[np.random.Generator, int], Image.Image]] = {
    "pizza": _draw_pizza,
    "steak": _draw_steak,
    "sushi": _draw_sushi,
}


# --------------------------------------------------------------------------- finishing


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
    arr = arr * light[..., None] * gain.astype(np.float32)
    arr += rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(rng.uniform(2.0, 9.0))
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
