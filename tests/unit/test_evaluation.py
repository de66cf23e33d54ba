"""Evaluation figures against hand computations, and evaluating a saved run."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

from backend.web.render import evaluation as render_evaluation
from food_vision.datasets.demo import generate_demo
from food_vision.evaluation import (
    EVALUATION_FILE,
    class_scores,
    confusion_matrix,
    evaluate,
    most_confused,
)
from food_vision.evaluation_data import EvaluationError, evaluate_saved_run
from tests.utils.factories import make_bundle

CLASSES = ["pizza", "steak", "sushi"]


def test_confusion_and_scores_match_a_hand_computation() -> None:
    confusion = confusion_matrix(3, [0, 0, 1, 1, 2], [0, 1, 1, 1, 0])
    assert confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    pizza, steak, sushi = class_scores(CLASSES, confusion)
    assert (pizza.precision, pizza.recall, pizza.f1, pizza.support) == (0.5, 0.5, 0.5, 2)
    assert steak.precision == pytest.approx(2 / 3) and steak.recall == 1.0
    assert steak.f1 == pytest.approx(0.8)
    assert (sushi.precision, sushi.recall, sushi.f1, sushi.support) == (0.0, 0.0, 0.0, 1)


class FixedLogits(nn.Module):
    """A known model: its input already is the logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_evaluate_a_known_model_photo_by_photo() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.tensor([0, 1, 1, 2])
    names = ["test/pizza/a.jpg", "test/steak/b.jpg", "test/steak/c.jpg", "test/sushi/d.jpg"]
    batches = [(logits[:2], labels[:2], names[:2]), (logits[2:], labels[2:], names[2:])]
    steps: list[int] = []
    result = evaluate(
        FixedLogits(), batches, CLASSES, device=torch.device("cpu"),
        stop=threading.Event(), on_step=steps.append,
    )  # fmt: skip
    assert result is not None and steps == [1, 2]
    assert result.confusion == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert result.accuracy == 0.75
    wrong = result.photos[2]
    assert (wrong.image, wrong.true, wrong.predicted) == ("test/steak/c.jpg", "steak", "pizza")
    softmax = [math.e / (math.e + 2), 1 / (math.e + 2)]
    assert wrong.probability == pytest.approx(softmax[0], abs=1e-6)
    assert wrong.loss == pytest.approx(-math.log(softmax[1]), abs=1e-5)
    assert [label for label, _ in wrong.top] == ["pizza", "steak", "sushi"]
    summary = result.summary()
    assert "samples" not in summary and summary["per_class"][1]["recall"] == 0.5


def test_a_stopped_evaluation_gives_nothing() -> None:
    stop = threading.Event()
    stop.set()
    batch = (torch.zeros(1, 3), torch.tensor([0]), ["x.jpg"])
    assert evaluate(FixedLogits(), [batch], CLASSES, device=torch.device("cpu"), stop=stop) is None


def test_most_confused_pairs_come_largest_first() -> None:
    evaluation = {"classes": CLASSES, "confusion": [[5, 1, 0], [3, 4, 0], [0, 2, 9]]}
    assert most_confused(evaluation) == [("steak", "pizza", 3), ("sushi", "steak", 2),
                                         ("pizza", "steak", 1)]  # fmt: skip
    assert most_confused({"classes": CLASSES, "confusion": [[1, 0, 0]] * 3}, limit=1) == [
        ("steak", "pizza", 1)
    ]


@pytest.fixture
def saved_run(tmp_path: Path) -> Path:
    generate_demo(tmp_path / "data" / "tiny", train_per_class=1, test_per_class=3, size=64)
    make_bundle(tmp_path / "run", classes=CLASSES, dataset="tiny")
    return tmp_path


def test_a_saved_run_is_evaluated_on_its_test_photos(saved_run: Path) -> None:
    progress: list[tuple[int, int]] = []
    result = evaluate_saved_run(
        saved_run / "run", saved_run / "data", batch_size=4, on_step=lambda *s: progress.append(s)
    )
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert sum(map(sum, result.confusion)) == 9
    stored = json.loads((saved_run / "run" / EVALUATION_FILE).read_text())
    assert len(stored["samples"]) == 9 and stored["classes"] == CLASSES
    assert {s["image"].split("/")[0] for s in stored["samples"]} == {"test"}


def test_a_run_whose_dataset_is_gone_or_changed_says_why(saved_run: Path) -> None:
    make_bundle(saved_run / "gone", classes=CLASSES, dataset="nowhere")
    with pytest.raises(EvaluationError, match="cannot evaluate on 'nowhere'"):
        evaluate_saved_run(saved_run / "gone", saved_run / "data")
    make_bundle(saved_run / "other", classes=["a", "b", "c"], dataset="tiny")
    with pytest.raises(EvaluationError, match="no longer the model's"):
        evaluate_saved_run(saved_run / "other", saved_run / "data")
    assert not (saved_run / "other" / EVALUATION_FILE).exists()


def test_a_food101_sized_grid_stays_a_scrollable_heat_map_of_what_was_counted() -> None:
    classes = [f"food_{index:03d}" for index in range(101)]
    true = [index for index in range(101) for _ in range(25)]
    predicted = [(label + (shot == 0)) % 101 for label in range(101) for shot in range(25)]
    confusion = confusion_matrix(101, true, predicted)
    found = {
        "classes": classes,
        "confusion": confusion,
        "per_class": [vars(score) for score in class_scores(classes, confusion)],
        "accuracy": 24 / 25,
    }
    html = render_evaluation("20261126-000000-abcdef", found)
    assert 'class="confusion many"' in html and "scroll-x confusion-wrap" in html
    assert html.count('<th scope="row">food_') == 2 * 101  # grid and per-class table
    # Only cells that count photos are buttons: 101 hits and 101 confusions, not 101².
    assert html.count('class="cell"') == 202
    assert html.count('class="zero"') == 101 * 101 - 202
