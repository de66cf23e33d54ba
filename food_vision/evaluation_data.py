"""A split of a dataset as evaluation batches (images, labels, and each photo's path inside the
dataset folder, so a result can be traced back to its photo), and the evaluation of a saved run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from food_vision.bundle import load_bundle
from food_vision.datasets.layout import DatasetSummary, validate_image_folder
from food_vision.datasets.registry import resolve_dataset
from food_vision.evaluation import Evaluation, evaluate, write_evaluation
from food_vision.images import open_image
from food_vision.transforms import eval_transform

Transform = Callable[[Image.Image], Tensor]


class NamedPhotos(Dataset[tuple[Tensor, int, str]]):
    def __init__(self, samples: Sequence[tuple[Path, int]], root: Path, transform: Transform):
        self.samples = list(samples)
        self.root = root
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int, str]:
        path, label = self.samples[index]
        return self.transform(open_image(path)), label, path.relative_to(self.root).as_posix()


def split_batches(
    summary: DatasetSummary, split: str, transform: Transform, batch_size: int
) -> DataLoader[tuple[Tensor, int, str]]:
    """One split in order, in this process (evaluation reads each photo once)."""
    photos = NamedPhotos(summary.samples(split), summary.root, transform)
    return DataLoader(photos, batch_size=batch_size, shuffle=False, num_workers=0)


class EvaluationError(ValueError):
    """A saved run cannot be evaluated; the message says why."""


def evaluate_saved_run(
    folder: Path,
    data_dir: Path,
    *,
    stop: threading.Event | None = None,
    on_step: Callable[[int, int], None] | None = None,
    batch_size: int = 32,
) -> Evaluation:
    """Evaluate a run's saved model on its dataset's test split and write evaluation.json.

    ``on_step(step, steps)`` follows each batch. Raises EvaluationError (or BundleError).
    """
    model, meta = load_bundle(folder)
    try:
        summary = validate_image_folder(resolve_dataset(meta.dataset, data_dir, download=False))
    except (ValueError, OSError) as exc:
        raise EvaluationError(f"cannot evaluate on {meta.dataset!r}: {exc}") from None
    if list(summary.classes) != meta.classes:
        raise EvaluationError(f"the classes of {meta.dataset!r} are no longer the model's")
    transform = eval_transform(meta.input_size, meta.mean, meta.std)
    batches = split_batches(summary, "test", transform, batch_size)
    steps = len(batches)
    evaluation = evaluate(
        model,
        batches,
        meta.classes,
        device=torch.device("cpu"),
        stop=stop or threading.Event(),
        on_step=(lambda step: on_step(step, steps)) if on_step else None,
    )
    if evaluation is None:
        raise EvaluationError("the evaluation was stopped")
    write_evaluation(folder, evaluation)
    return evaluation
