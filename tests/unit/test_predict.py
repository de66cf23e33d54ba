"""Prediction from a saved bundle: preprocessing, batching and top-k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from food_vision.bundle import load_bundle
from food_vision.predict import Prediction, Predictor
from food_vision.transforms import eval_crop, eval_transform, normalize_pixels
from tests.utils.factories import make_bundle


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    folder = tmp_path_factory.mktemp("bundle")
    make_bundle(folder, seed=11)
    return Predictor.from_bundle(folder)


def random_images() -> list[Image.Image]:
    rng = np.random.default_rng(5)
    images = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in ((64, 64), (120, 80), (50, 200))
    ]
    rgba = rng.integers(0, 256, (70, 70, 4), dtype=np.uint8)
    images.append(Image.fromarray(rgba))  # RGBA goes through to_rgb
    images.append(Image.new("L", (90, 90), 30))
    return images


def as_dict(predictions: list[Prediction]) -> dict[str, float]:
    return {p.label: p.probability for p in predictions}


def test_batched_predict_equals_one_by_one(predictor: Predictor) -> None:
    images = random_images()
    batched = predictor.predict(images, top_k=3)
    single = [predictor.predict([image], top_k=3)[0] for image in images]
    assert len(batched) == len(images)
    for row_batched, row_single in zip(batched, single, strict=True):
        assert as_dict(row_batched) == pytest.approx(as_dict(row_single), abs=1e-5)


def test_rows_are_sorted_probabilities_summing_to_at_most_one(predictor: Predictor) -> None:
    for row in predictor.predict(random_images(), top_k=3):
        probabilities = [p.probability for p in row]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        assert {p.label for p in row} == {"pizza", "steak", "sushi"}
        # Each value is rounded to 6 decimals, so the sum of all k may exceed 1 by rounding.
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    for row in predictor.predict(random_images(), top_k=2):
        assert sum(p.probability for p in row) <= 1.0


def test_probabilities_match_the_model_on_the_declared_preprocessing(
    predictor: Predictor,
) -> None:
    image = random_images()[1]
    meta = predictor.meta
    tensor = eval_transform(meta.input_size, meta.mean, meta.std)(image).unsqueeze(0)
    with torch.inference_mode():
        expected = torch.softmax(predictor.model(tensor), dim=1)[0]
    (row,) = predictor.predict([image], top_k=3)
    for prediction in row:
        index = predictor.classes.index(prediction.label)
        assert prediction.probability == pytest.approx(float(expected[index]), abs=1e-6)


@pytest.mark.parametrize(("k", "expected"), [(0, 1), (-4, 1), (1, 1), (2, 2), (3, 3), (99, 3)])
def test_top_k_is_clamped(predictor: Predictor, k: int, expected: int) -> None:
    (row,) = predictor.predict([random_images()[0]], top_k=k)
    assert len(row) == expected


def test_empty_input_gives_empty_output(predictor: Predictor) -> None:
    assert predictor.predict([], top_k=3) == []


def test_input_size_comes_from_meta(tmp_path: Path) -> None:
    make_bundle(tmp_path, seed=1, input_size=48)
    predictor = Predictor.from_bundle(tmp_path)
    assert predictor.preprocess(Image.new("RGBA", (100, 30))).shape == (3, 48, 48)
    assert not predictor.model.training
    assert len(predictor.predict([Image.new("RGB", (10, 10))] * 2, top_k=1)) == 2


def test_the_inference_network_has_its_batch_norms_folded_and_answers_as_the_saved_one(
    tmp_path: Path,
) -> None:
    make_bundle(tmp_path, seed=3, architecture="efficientnet_lite0")
    model, meta = load_bundle(tmp_path)
    generator = torch.Generator().manual_seed(0)
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        shape = norm.running_mean.shape  # statistics a trained model would have, not 0 and 1
        norm.running_mean.copy_(torch.randn(shape, generator=generator) * 0.1)
        norm.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
    predictor = Predictor(model, meta)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in predictor.model.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the caller's, untouched
    batch = torch.stack([predictor.preprocess(image) for image in random_images()])
    with torch.inference_mode():
        expected = torch.softmax(model.eval()(batch), dim=1)
    assert torch.allclose(predictor.probabilities(batch), expected, atol=1e-5)


def test_cropped_pixels_normalised_are_the_evaluation_transforms_tensors(
    predictor: Predictor,
) -> None:
    meta, size = predictor.meta, predictor.meta.input_size
    images = [image.convert("RGB") for image in random_images()]
    expected = torch.stack([eval_transform(size, meta.mean, meta.std)(image) for image in images])
    pixels = torch.stack([torch.from_numpy(np.array(eval_crop(size)(image))) for image in images])
    assert pixels.dtype == torch.uint8 and pixels.shape == (len(images), size, size, 3)
    assert torch.equal(normalize_pixels(pixels, meta.mean, meta.std), expected)
    with torch.inference_mode():
        assert torch.equal(predictor.pixel_probabilities(pixels), predictor.probabilities(expected))
