"""What a trained model gets right and wrong on the test split: the confusion matrix, per-class
precision / recall / F1, and per photo its prediction, top probabilities and loss.

The figures go into the ``evaluated`` event; the per-photo details into ``evaluation.json``
in the run folder, which the page reads to show the photos behind each matrix cell.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from food_vision.atomic import atomic_write_json

EVALUATION_FILE = "evaluation.json"
TOP_K = 3


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class PhotoResult:
    image: str  # the photo's path inside the dataset folder
    true: str
    predicted: str
    probability: float  # of the predicted class
    top: list[tuple[str, float]]
    loss: float


@dataclass(frozen=True)
class Evaluation:
    split: str
    classes: list[str]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    per_class: list[ClassScore]
    accuracy: float
    photos: list[PhotoResult]

    def summary(self) -> dict[str, Any]:
        """The figures without the per-photo list (what the ``evaluated`` event carries)."""
        return {
            "split": self.split,
            "classes": self.classes,
            "confusion": self.confusion,
            "per_class": [asdict(score) for score in self.per_class],
            "accuracy": self.accuracy,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "samples": [asdict(photo) for photo in self.photos]}


def confusion_matrix(size: int, true: Sequence[int], predicted: Sequence[int]) -> list[list[int]]:
    matrix = [[0] * size for _ in range(size)]
    for t, p in zip(true, predicted, strict=True):
        matrix[t][p] += 1
    return matrix


def class_scores(classes: Sequence[str], confusion: list[list[int]]) -> list[ClassScore]:
    """Precision, recall and F1 per class; 0 where a ratio has nothing to divide by."""
    scores = []
    for index, label in enumerate(classes):
        hits = confusion[index][index]
        predicted = sum(row[index] for row in confusion)
        support = sum(confusion[index])
        precision = hits / predicted if predicted else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, support))
    return scores


def most_confused(evaluation: dict[str, Any], limit: int = 3) -> list[tuple[str, str, int]]:
    """The off-diagonal cells with the most photos: (true, predicted, count), largest first."""
    classes, confusion = evaluation["classes"], evaluation["confusion"]
    cells = [
        (count, classes[t], classes[p])
        for t, row in enumerate(confusion)
        for p, count in enumerate(row)
        if t != p and count
    ]
    return [
        (true, predicted, count) for count, true, predicted in sorted(cells, key=lambda c: -c[0])
    ][:limit]


def evaluate(
    model: nn.Module,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor, list[str]]] | Any,
    classes: Sequence[str],
    *,
    device: torch.device,
    stop: threading.Event,
    on_step: Callable[[int], None] | None = None,
) -> Evaluation | None:
    """One pass over ``(images, labels, image paths)`` batches; None when stopped part-way."""
    model.eval()
    true: list[int] = []
    predicted: list[int] = []
    photos: list[PhotoResult] = []
    with torch.inference_mode():
        for step, (images, labels, names) in enumerate(batches, start=1):
            if stop.is_set():
                return None
            logits = model(images.to(device)).float().cpu()
            losses = F.cross_entropy(logits, labels, reduction="none")
            probabilities = torch.softmax(logits, dim=1)
            top = probabilities.topk(min(TOP_K, len(classes)), dim=1)
            for row, label in enumerate(labels.tolist()):
                guess = int(top.indices[row, 0])
                ranked = [
                    (classes[int(i)], round(float(p), 6))
                    for p, i in zip(top.values[row], top.indices[row], strict=True)
                ]
                true.append(label)
                predicted.append(guess)
                photos.append(
                    PhotoResult(
                        names[row],
                        classes[label],
                        classes[guess],
                        ranked[0][1],
                        ranked,
                        round(float(losses[row]), 6),
                    )
                )
            if on_step is not None:
                on_step(step)
    confusion = confusion_matrix(len(classes), true, predicted)
    correct = sum(confusion[i][i] for i in range(len(classes)))
    accuracy = correct / len(true) if true else 0.0
    scores = class_scores(classes, confusion)
    return Evaluation("test", list(classes), confusion, scores, accuracy, photos)


def write_evaluation(folder: Path, evaluation: Evaluation) -> None:
    atomic_write_json(folder / EVALUATION_FILE, evaluation.to_dict())


def read_evaluation(folder: Path) -> dict[str, Any] | None:
    """``evaluation.json``, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads((folder / EVALUATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def with_names(batches: Iterable[Any], names: list[str]) -> Iterator[tuple[Any, Any, list[str]]]:
    """``(inputs, labels)`` batches of a split drawn in order, with each photo's path added."""
    offset = 0
    for inputs, labels in batches:
        yield inputs, labels, names[offset : offset + len(labels)]
        offset += len(labels)
