"""One training run from a validated config to a saved bundle, reported as events.

Kept apart from the entry point so that the command line can be parsed and checked before
torch is imported. The order: dataset and its validation split, model and what of it trains,
batches (a frozen front's features are computed here, once), the epochs, then the test split,
evaluated once with the best epoch's weights, which are the run's model.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

from torch import nn

from food_vision.batches import BatchPlan, feature_batches, image_batches
from food_vision.bundle import WEIGHTS_FILE, ModelMeta, save_bundle
from food_vision.config import TrainConfig
from food_vision.datasets.holdout import hold_out
from food_vision.datasets.layout import DatasetSummary, validate_image_folder
from food_vision.datasets.loaders import Loaders, SplitSamples, default_workers
from food_vision.datasets.registry import resolve_dataset
from food_vision.distributed import Group
from food_vision.engine import StepReport, TrainOutcome, train
from food_vision.evaluation import Evaluation, evaluate, with_names, write_evaluation
from food_vision.events import Cancelled, Evaluated, Started
from food_vision.features import FEATURES_DIR
from food_vision.keeper import BestKeeper
from food_vision.lineage import ParentRun, check_classes, open_parent
from food_vision.models import get_architecture
from food_vision.optimizer_state import restore_optimizer_state, save_optimizer_state
from food_vision.recipe import make_loss, make_optimizer, make_schedule
from food_vision.reporting import Reporter, epoch_event, progress_event
from food_vision.runs import RunStatus
from food_vision.runtime import (
    pick_device,
    seed_everything,
    set_threads,
    usable_cores,
    yield_cpu,
)
from food_vision.settings import get_settings
from food_vision.train_args import RunOptions
from food_vision.transfer import TransferPlan, plan_training

log = logging.getLogger("food_vision.train")


class TrainingSession:
    """Dataset, model, batches, the training loop, the test pass and the final event."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        out: Path,
        reporter: Reporter,
        stop: threading.Event,
        options: RunOptions | None = None,
        group: Group | None = None,
        finish: threading.Event | None = None,
    ) -> None:
        self.config = config.resolved()
        self.out = out
        self.reporter = reporter
        self.stop = stop
        self.finish = finish  # set: end after the current epoch, then test and save
        self.options = options or RunOptions()
        # A data-parallel run's processes each hold one; only the leader reports and writes.
        self.group = group or Group(device=pick_device(self.options.device))
        self.device = self.group.device
        self.arch = get_architecture(self.config.architecture)
        self.classes: list[str] = []
        self.test_photos: list[str] = []  # the test split's paths inside the dataset, in order
        self.parent: ParentRun | None = None  # the run this one continues, if any

    @property
    def image_size(self) -> int:
        return self.config.image_size or self.arch.input_size

    @property
    def threads(self) -> int | None:
        """Torch threads of this process: the machine's (or ``--threads``) shared among the
        run's processes on it."""
        total = self.options.threads or (usable_cores() if self.group.parallel else None)
        return total and max(1, total // self.group.local_size)

    @property
    def max_steps(self) -> int | None:
        return 1 if self.config.dry_run else None

    def run(self) -> RunStatus:
        """Train to the end (COMPLETED) or until the stop flag is set (CANCELLED)."""
        seed_everything(self.config.seed)
        yield_cpu(self.options.niceness)  # before torch starts its threads: they inherit it
        set_threads(self.threads)
        summary = self.group.leader_first(self.load_dataset)
        if self.group.agree(self.stop.is_set()):
            return self.cancelled(has_model=False, epoch=0, step=0)
        self.classes = list(summary.classes)
        if self.config.parent is not None:
            self.parent = open_parent(self.config.parent, get_settings().runs_dir)
            check_classes(self.parent, self.classes, self.config.dataset)
        holdout = hold_out(summary, self.config.validation_fraction)
        splits = SplitSamples(holdout.train, holdout.validation, summary.samples("test"))
        self.test_photos = [path.relative_to(summary.root).as_posix() for path, _ in splits.test]
        plan = plan_training(
            self.arch.build(len(self.classes), bool(self.config.pretrained)),
            pretrained=bool(self.config.pretrained),
            fine_tune_blocks=self.config.fine_tune_blocks,
            learning_rate=self.config.learning_rate,
        )
        if self.parent is not None:
            self.parent.load_weights(plan.model)
        batch_plan = self.batch_plan()
        # A quick check (one batch per pass) would wait for a whole feature pass: no cache.
        if plan.front is not None and self.options.feature_cache and not self.config.dry_run:
            self.announce(splits, batch_plan.cached_steps(splits), holdout.note)
            loaders = self.feature_pass(batch_plan, splits, plan)
            if loaders is None:
                return self.cancelled(has_model=False, epoch=0, step=0)
            return self.fit(plan, plan.rest, loaders)
        loaders = image_batches(batch_plan, splits)
        self.announce(splits, loaders.steps_per_epoch, holdout.note)
        return self.fit(plan, plan.model, loaders)

    def load_dataset(self) -> DatasetSummary:
        data_dir = get_settings().resolved_data_dir
        root = resolve_dataset(self.config.dataset, data_dir, progress=sys.stderr.isatty())
        summary = validate_image_folder(root)
        log.info("dataset %s: %s", root, summary.counts)
        return summary

    def batch_plan(self) -> BatchPlan:
        workers = self.options.workers
        if workers is None:
            workers = default_workers() // self.group.local_size
        return BatchPlan(
            arch=self.arch,
            image_size=self.image_size,
            augment=self.config.augment,
            views=self.config.feature_views,
            batch_size=self.config.batch_size,
            seed=self.config.seed,
            workers=workers,
            device=self.device,
            group=self.group,
        )

    def announce(self, splits: SplitSamples, steps: int, note: str) -> None:
        notes = [text for text in (note, self.parent and self.parent.note()) if text]
        for text in notes:
            log.info("%s", text)
        self.reporter.emit(
            Started(
                self.reporter.run_id,
                config=self.config.to_dict(),
                device=str(self.device),
                classes=self.classes,
                num_train=len(splits.train),
                num_test=len(splits.test),
                epochs=self.config.epochs,
                steps_per_epoch=self.max_steps or steps,
                num_validation=len(splits.validation),
                notes=notes,
                processes=self.group.size,
                parent=self.config.parent,
            )
        )

    def feature_pass(
        self, batch_plan: BatchPlan, splits: SplitSamples, plan: TransferPlan
    ) -> Loaders | None:
        """The frozen front over every image once, reported as ``features`` progress."""
        assert plan.front is not None

        def on_progress(done: int, total: int, seconds: float) -> None:
            rate = done / seconds if seconds > 0 else 0.0
            report = StepReport(0, done, total, math.nan, rate, phase="features")
            self.reporter.progress(progress_event(self.reporter.run_id, report))

        return feature_batches(
            batch_plan,
            splits,
            plan.front,
            self.out / FEATURES_DIR,
            stop=self.stop,
            on_progress=on_progress,
        )

    def fit(self, plan: TransferPlan, net: nn.Module, loaders: Loaders) -> RunStatus:
        """The epochs, then the test split once with the best epoch's weights."""
        optimizer = make_optimizer(plan.param_groups, self.config)
        if self.parent is not None and self.parent.optimizer_path is not None:
            restore_optimizer_state(optimizer, self.parent.optimizer_path)
        keeper = BestKeeper(
            net,
            lambda result: self.save(plan, result.metrics(), result.epoch, keeper.optimizer_state),
            optimizer,
        )
        outcome = self.train(net, loaders, keeper)
        best = keeper.restore()
        if outcome.stopped or best is None:
            return self.cancelled(
                has_model=keeper.flush(), epoch=outcome.stopped_epoch, step=outcome.stopped_step
            )
        if not self.group.leader:  # the leader alone tests the model and saves it
            return RunStatus.COMPLETED
        test = self.test_pass(net, loaders.test, best.epoch)
        if test is None:
            return self.cancelled(has_model=keeper.flush(), epoch=best.epoch, step=0)
        test_loss = math.fsum(photo.loss for photo in test.photos) / max(1, len(test.photos))
        metrics = {**best.metrics(), "test_loss": test_loss, "test_acc": test.accuracy}
        self.save(plan, metrics, best.epoch, keeper.optimizer_state)
        if not self.config.dry_run:  # a quick check sees one batch: no evaluation to keep
            write_evaluation(self.out, test)
            self.reporter.emit(Evaluated(self.reporter.run_id, **test.summary()))
        model_path = self.out / WEIGHTS_FILE
        return self.reporter.completed(metrics, model_path, best.epoch, outcome.finished_early)

    def test_pass(self, net: nn.Module, batches: Any, epoch: int) -> Evaluation | None:
        """The test split once, each photo's result kept (reported as ``eval`` steps)."""
        steps = min(len(batches), self.max_steps or len(batches))
        started = time.monotonic()
        size = self.config.batch_size

        def on_step(step: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-9)
            rate = min(step * size, len(self.test_photos)) / elapsed
            self.on_step(StepReport(epoch, step, steps, math.nan, rate, phase="eval"))

        named = itertools.islice(with_names(batches, self.test_photos), steps)
        return evaluate(
            net, named, self.classes, device=self.device, stop=self.stop, on_step=on_step
        )

    def train(self, net: nn.Module, loaders: Loaders, keeper: BestKeeper) -> TrainOutcome:
        """The engine's loop; each epoch is reported, and each new best one kept."""
        run_id = self.reporter.run_id
        optimizer = keeper.optimizer
        steps = self.max_steps or loaders.steps_per_epoch
        return train(
            net,
            train_batches=loaders.train,
            validation_batches=loaders.validation,
            steps_per_epoch=steps,
            epochs=self.config.epochs,
            done=self.parent.last_epoch if self.parent else 0,
            optimizer=optimizer,
            scheduler=make_schedule(optimizer, steps * self.config.epochs),
            loss_fn=make_loss(self.config),
            patience=self.config.patience,
            device=self.device,
            stop=self.stop,
            on_step=self.on_step,
            on_epoch=lambda result: self.reporter.emit(epoch_event(run_id, result)),
            on_best=keeper.keep,
            max_steps=self.max_steps,
            group=self.group,
            finish=self.finish,
        )

    def save(
        self,
        plan: TransferPlan,
        metrics: dict[str, float],
        epoch: int,
        optimizer_state: dict[str, Any] | None,
    ) -> None:
        if self.group.leader:
            save_bundle(plan.model, self.model_meta(metrics, epoch), self.out)
            if optimizer_state is not None:
                save_optimizer_state(optimizer_state, self.out)

    def on_step(self, report: StepReport) -> None:
        self.reporter.progress(progress_event(self.reporter.run_id, report))

    def model_meta(self, metrics: dict[str, float], epoch: int) -> ModelMeta:
        return ModelMeta(
            architecture=self.arch.name,
            classes=self.classes,
            input_size=self.image_size,
            mean=list(self.arch.mean),
            std=list(self.arch.std),
            metrics=metrics,
            epoch=epoch,
            dataset=self.config.dataset,
        )

    def cancelled(self, *, has_model: bool, epoch: int, step: int) -> RunStatus:
        self.reporter.emit(
            Cancelled(self.reporter.run_id, epoch=epoch, step=step, has_model=has_model)
        )
        return RunStatus.CANCELLED
