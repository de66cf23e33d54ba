"""One training run from a validated config to a saved bundle, reported as events.

Kept apart from the entry point so that the command line can be parsed and checked before
torch is imported.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import torch
from torch import nn

from food_vision.bundle import WEIGHTS_FILE, ModelMeta, save_bundle
from food_vision.config import TrainConfig
from food_vision.datasets.layout import DatasetSummary, validate_image_folder
from food_vision.datasets.loaders import Loaders, build_loaders
from food_vision.datasets.registry import resolve_dataset
from food_vision.engine import EpochResult, StepReport, TrainOutcome, train
from food_vision.events import Cancelled, Completed, Started
from food_vision.models import get_architecture
from food_vision.reporting import Reporter, epoch_event, progress_event
from food_vision.runs import RunStatus
from food_vision.runtime import pick_device, seed_everything, set_threads
from food_vision.settings import get_settings
from food_vision.train_args import RunOptions

log = logging.getLogger("food_vision.train")


class TrainingSession:
    """Dataset, loaders, model, the training loop, and the final event, in that order."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        out: Path,
        reporter: Reporter,
        stop: threading.Event,
        options: RunOptions | None = None,
    ) -> None:
        self.config = config.resolved()
        self.out = out
        self.reporter = reporter
        self.stop = stop
        self.options = options or RunOptions()
        self.device = pick_device(self.options.device)
        self.arch = get_architecture(self.config.architecture)

    @property
    def image_size(self) -> int:
        return self.config.image_size or self.arch.input_size

    def run(self) -> RunStatus:
        """Train to the end (COMPLETED) or until the stop flag is set (CANCELLED)."""
        seed_everything(self.config.seed)
        set_threads(self.options.threads)
        summary = self.load_dataset()
        if self.stop.is_set():
            return self.cancelled(has_model=False, epoch=0, step=0)
        loaders = self.build_loaders(summary)
        model = self.arch.build(len(summary.classes), bool(self.config.pretrained))
        steps = 1 if self.config.dry_run else loaders.steps_per_epoch
        self.announce(summary, steps)
        outcome = self.train(model, loaders, summary, steps)
        if outcome.stopped:
            return self.cancelled(
                has_model=bool(outcome.history),
                epoch=outcome.stopped_epoch,
                step=outcome.stopped_step,
            )
        return self.completed(outcome)

    def load_dataset(self) -> DatasetSummary:
        data_dir = get_settings().resolved_data_dir
        root = resolve_dataset(self.config.dataset, data_dir, progress=sys.stderr.isatty())
        summary = validate_image_folder(root)
        log.info("dataset %s: %s", root, summary.counts)
        return summary

    def build_loaders(self, summary: DatasetSummary) -> Loaders:
        return build_loaders(
            summary,
            image_size=self.image_size,
            mean=self.arch.mean,
            std=self.arch.std,
            batch_size=self.config.batch_size,
            seed=self.config.seed,
            workers=self.options.workers,
            device=self.device,
        )

    def announce(self, summary: DatasetSummary, steps: int) -> None:
        self.reporter.emit(
            Started(
                self.reporter.run_id,
                config=self.config.to_dict(),
                device=str(self.device),
                classes=list(summary.classes),
                num_train=summary.num_train,
                num_test=summary.num_test,
                epochs=self.config.epochs,
                steps_per_epoch=steps,
            )
        )

    def train(
        self, model: nn.Module, loaders: Loaders, summary: DatasetSummary, steps: int
    ) -> TrainOutcome:
        """The engine's loop; each finished epoch is saved, then reported."""
        run_id = self.reporter.run_id
        trainable = [param for param in model.parameters() if param.requires_grad]

        def on_step(report: StepReport) -> None:
            self.reporter.progress(progress_event(run_id, report))

        def on_epoch(result: EpochResult) -> None:
            save_bundle(model, self.model_meta(summary, result), self.out)
            self.reporter.emit(epoch_event(run_id, result))

        return train(
            model,
            train_batches=loaders.train,
            test_batches=loaders.test,
            steps_per_epoch=steps,
            epochs=self.config.epochs,
            optimizer=torch.optim.Adam(trainable, lr=self.config.learning_rate),
            device=self.device,
            stop=self.stop,
            on_step=on_step,
            on_epoch=on_epoch,
            max_steps=1 if self.config.dry_run else None,
        )

    def model_meta(self, summary: DatasetSummary, result: EpochResult) -> ModelMeta:
        return ModelMeta(
            architecture=self.arch.name,
            classes=list(summary.classes),
            input_size=self.image_size,
            mean=list(self.arch.mean),
            std=list(self.arch.std),
            metrics=result.metrics(),
            epoch=result.epoch,
            dataset=self.config.dataset,
        )

    def completed(self, outcome: TrainOutcome) -> RunStatus:
        metrics = outcome.history[-1].metrics()
        model_path = str(self.out / WEIGHTS_FILE)
        self.reporter.emit(Completed(self.reporter.run_id, metrics=metrics, model_path=model_path))
        return RunStatus.COMPLETED

    def cancelled(self, *, has_model: bool, epoch: int, step: int) -> RunStatus:
        self.reporter.emit(
            Cancelled(self.reporter.run_id, epoch=epoch, step=step, has_model=has_model)
        )
        return RunStatus.CANCELLED
