"""How the default recipe was chosen: head recipes compared on one dataset's cached features.

    python bench/recipe_search.py --data ../shared/data/food101-dev   # about 20 min, 2 cores

The trainer's own feature pass computes, once, the features of every training image (its plain
view and --views - 1 augmented ones), of the validation split and of the test split, with
EfficientNet-Lite0's frozen backbone. Then a new head is trained for every combination of the
options below and every seed, through the trainer's own engine and recipe (AdamW, the cosine
schedule or none, label smoothing), its best epoch chosen on validation, and scored once on
test. The table lists each recipe's median test accuracy over the seeds, best first.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* and tests.*

from bench.harness import log
from food_vision.config import TrainConfig
from food_vision.datasets.holdout import hold_out
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.loaders import SplitSamples, seeded_loader
from food_vision.engine import evaluate, train
from food_vision.features import CachedRows, SplitImages, batch_as_is, compute_features
from food_vision.keeper import BestKeeper
from food_vision.models import DEFAULT_ARCHITECTURE, get_architecture
from food_vision.recipe import make_loss, make_optimizer, make_schedule
from food_vision.transfer import TransferPlan, plan_training
from food_vision.transforms import eval_transform, train_transform

CPU = torch.device("cpu")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="an ImageFolder dataset")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--views", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[6, 10, 20])
    parser.add_argument("--label-smoothing", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument("--weight-decay", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="fv-recipe-") as tmp:
        rows = cached_rows(args.data, max(args.views), Path(tmp))
        heads = Heads(int(rows["test"].labels.max()) + 1)
        grid = itertools.product(
            args.views, args.lr, ("cosine", "constant"), args.label_smoothing,
            args.weight_decay, args.epochs,
        )  # fmt: skip
        results = []
        for views, lr, schedule, smoothing, decay, epochs in grid:
            config = TrainConfig.parse(
                {"learning_rate": lr, "label_smoothing": smoothing, "weight_decay": decay,
                 "epochs": epochs, "feature_views": views}
            )  # fmt: skip
            scores = [
                head_score(rows, heads, config, schedule, max(args.views), seed)
                for seed in range(args.seeds)
            ]
            results.append((statistics.median(scores), config, schedule, scores))
            log(f"views {views} lr {lr} {schedule} ls {smoothing} wd {decay} ep {epochs}: {scores}")
    print(f"\n{'median test acc':>15}  views  lr      schedule  smoothing  decay  epochs  seeds")
    for median, config, schedule, scores in sorted(results, key=lambda r: -r[0]):
        print(
            f"{median:>15.3f}  {config.feature_views:>5}  {config.learning_rate:<6g}  "
            f"{schedule:<8}  {config.label_smoothing:>9}  {config.weight_decay:>5}  "
            f"{config.epochs:>6}  {[round(s, 3) for s in scores]}"
        )
    return 0


def cached_rows(data: Path, views: int, folder: Path) -> dict[str, CachedRows]:
    """The trainer's feature pass over ``data``, held out as a run of it would be."""
    summary = validate_image_folder(data)
    holdout = hold_out(summary, TrainConfig().validation_fraction)
    splits = SplitSamples(holdout.train, holdout.validation, summary.samples("test"))
    arch = get_architecture(DEFAULT_ARCHITECTURE)
    plain = eval_transform(arch.input_size, arch.mean, arch.std)
    augmented = train_transform(arch.input_size, arch.mean, arch.std)
    model = arch.build(len(summary.classes), pretrained=True)
    front = plan_training(model, pretrained=True, fine_tune_blocks=0, learning_rate=1.0).front
    assert front is not None
    log(f"feature pass: {len(splits.train)} x {views} + {len(splits.validation)} + "
        f"{len(splits.test)} images")  # fmt: skip
    cached = compute_features(
        front,
        [
            SplitImages("train", splits.train, plain, augmented, views),
            SplitImages("validation", splits.validation, plain),
            SplitImages("test", splits.test, plain),
        ],
        folder,
        {},
        device=CPU,
        workers=1,
        seed=0,
        stop=threading.Event(),
    )
    assert cached is not None
    return {name: CachedRows(np.array(rows.rows), rows.labels) for name, rows in cached.items()}


class Heads:
    """One model per seed, its new head as first initialised: each recipe starts from it."""

    def __init__(self, classes: int) -> None:
        self.classes = classes
        self.models: dict[int, tuple[torch.nn.Module, dict[str, torch.Tensor]]] = {}

    def fresh(self, seed: int, learning_rate: float) -> TransferPlan:
        if seed not in self.models:
            torch.manual_seed(seed)
            model = get_architecture(DEFAULT_ARCHITECTURE).build(self.classes, pretrained=True)
            self.models[seed] = model, copy.deepcopy(model.state_dict())
        model, initial = self.models[seed]
        model.load_state_dict(initial)
        torch.manual_seed(seed)  # the same dropout masks for every recipe of this seed
        return plan_training(
            model, pretrained=True, fine_tune_blocks=0, learning_rate=learning_rate
        )


def head_score(
    rows: dict[str, CachedRows],
    heads: Heads,
    config: TrainConfig,
    schedule: str,
    cached: int,
    seed: int,
) -> float:
    """Test accuracy of a new head trained with ``config`` on the first views of each image."""
    plan = heads.fresh(seed, config.learning_rate)
    train_rows = rows["train"]
    keep = np.arange(len(train_rows)) % cached < config.feature_views
    subset = CachedRows(train_rows.rows[keep], train_rows.labels[keep])
    batches = seeded_loader(
        subset, batch_size=config.batch_size, workers=0, seed=seed, shuffle=True,
        collate=batch_as_is,
    )  # fmt: skip
    validation, test = (
        seeded_loader(rows[name], batch_size=256, workers=0, seed=seed, collate=batch_as_is)
        for name in ("validation", "test")
    )
    optimizer = make_optimizer(plan.param_groups, config)
    steps = len(batches) * config.epochs
    keeper = BestKeeper(plan.rest, lambda result: None, optimizer, interval=float("inf"))
    train(
        plan.rest,
        train_batches=batches,
        validation_batches=validation,
        steps_per_epoch=len(batches),
        epochs=config.epochs,
        optimizer=optimizer,
        scheduler=make_schedule(optimizer, steps) if schedule == "cosine" else None,
        loss_fn=make_loss(config),
        patience=config.patience,
        device=CPU,
        stop=threading.Event(),
        on_best=keeper.keep,
    )
    keeper.restore()
    return evaluate(plan.rest, test, device=CPU, stop=threading.Event()).accuracy


if __name__ == "__main__":
    sys.exit(main())
