"""The demo drawings: known classes only, and foods that a simple rule can tell apart."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from food_vision.datasets.demo_render import DEMO_CLASSES, demo_image_rng, render_demo_image


def test_classes_are_pizza_steak_sushi() -> None:
    assert DEMO_CLASSES == ("pizza", "steak", "sushi")


def test_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo class 'burger'"):
        render_demo_image("burger", np.random.default_rng(0), size=32)


def _colour_histogram(image: Image.Image) -> np.ndarray:
    """A coarse 4 x 4 x 4 RGB histogram, normalised to sum to 1."""
    levels = (np.asarray(image) // 64).reshape(-1, 3).astype(np.int64)
    codes = levels[:, 0] * 16 + levels[:, 1] * 4 + levels[:, 2]
    return np.bincount(codes, minlength=64) / len(codes)


def _histograms(split: str, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    features, labels = [], []
    for index, label in enumerate(DEMO_CLASSES):
        for k in range(per_class):
            image = render_demo_image(label, demo_image_rng(0, split, index, k), size=48)
            features.append(_colour_histogram(image))
            labels.append(index)
    return np.array(features), np.array(labels)


def test_classes_differ_in_colour_statistics() -> None:
    """A nearest-centroid rule on colour histograms beats chance by far, but is not perfect.

    If the foods were not drawn (background only) or drawn alike, this falls to chance (1/3).
    """
    train_x, train_y = _histograms("train", 30)
    test_x, test_y = _histograms("test", 15)
    centroids = np.stack([train_x[train_y == c].mean(axis=0) for c in range(3)])
    distances = np.abs(test_x[:, None, :] - centroids[None, :, :]).sum(axis=-1)
    predicted = distances.argmin(axis=1)
    accuracy = float((predicted == test_y).mean())
    assert accuracy >= 0.6
    per_class = [float((predicted[test_y == c] == c).mean()) for c in range(3)]
    assert min(per_class) >= 0.3  # no class is invisible


def test_food_is_drawn_over_the_background() -> None:
    """The middle of a picture (the food) differs from its border (the table)."""
    for index, label in enumerate(DEMO_CLASSES):
        gaps = []
        for k in range(6):
            image = render_demo_image(label, demo_image_rng(0, "train", index, k), size=64)
            pixels = np.asarray(image, dtype=np.float64)
            middle = pixels[24:40, 24:40].reshape(-1, 3).mean(axis=0)
            border = np.concatenate([pixels[:4].reshape(-1, 3), pixels[-4:].reshape(-1, 3)])
            gaps.append(np.abs(middle - border.mean(axis=0)).sum())
        assert np.median(gaps) > 20, label
