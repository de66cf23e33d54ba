"""One training run from a validated config to a saved bundle, reported as events.

Kept apart from the entry point so that the command line can be parsed and checked before
torch is imported.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from food_vision import paths
from food_vision.bundle import WEIGHTS_FILE, ModelMeta, save_bundle
from food_vision.config import TrainConfig
from food_vision.datasets.layout import validate_image_folder
from food_vision.datasets.loaders import build_loaders
from food_vision.datasets.registry import resolve_dataset
from food_vision.engine import EpochResult, StepReport, train
from food_vision.events import Cancelled, Completed, EpochEnd, Progress, Started
from food_vision.models import get_architecture
from food_vision.runs import RunStatus

if TYPE_CHECKING:
    from food_vision.train import Reporter

log = logging.getLogger("food_vision.train")


class TrainingSession:
    def __init__(
        self,
        config: TrainConfig,
        *,
        out: Path,
        reporter: Reporter,
        stop: threading.Event,
        threads: int | None = None,
        workers: int | None = None,
        device_name: str = "auto",
    ) -> None:
        self.config = config
        self.out = out
        self.reporter = reporter
        self.stop = stop
        self.threads = threads
        self.workers = workers
        self.device = pick_device(device_name)

    def run(self) -> RunStatus:
        """Train to the end (COMPLETED) or until the stop flag is set (CANCELLED)."""
        config, run_id = self.config, self.reporter.run_id
        seed_everything(config.seed)
        if self.threads:
            torch.set_num_threads(self.threads)
        arch = get_architecture(config.architecture)
        root = resolve_dataset(config.dataset, paths.data_dir(), progress=sys.stderr.isatty())
        summary = validate_image_folder(root)
        log.info("dataset %s: %s", root, summary.counts)
        if self.stop.is_set():
            return self._cancelled([], 0, 0)
        loaders = build_loaders(
            summary,
            image_size=config.image_size or arch.input_size,
            mean=arch.mean,
            std=arch.std,
            batch_size=config.batch_size,
            seed=config.seed,
            workers=self.workers,
            device=self.device,
        )
        model = arch.build(len(summary.classes), bool(config.pretrained))
        trainable = [param for param in model.parameters() if param.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=config.learning_rate)
        max_steps = 1 if config.dry_run else None
        steps = 1 if config.dry_run else loaders.steps_per_epoch
        self.reporter.emit(
            Started(
                run_id,
                config=config.to_dict(),
                device=str(self.device),
                classes=list(summary.classes),
                num_train=summary.num_train,
                num_test=summary.num_test,
                epochs=config.epochs,
                steps_per_epoch=steps,
            )
        )

        def on_step(report: StepReport) -> None:
            self.reporter.progress(progress_event(run_id, report))

        def on_epoch(result: EpochResult) -> None:
            meta = ModelMeta(
                architecture=arch.name,
                classes=list(summary.classes),
                input_size=config.image_size or arch.input_size,
                mean=list(arch.mean),
                std=list(arch.std),
                metrics=result.metrics(),
                epoch=result.epoch,
                dataset=config.dataset,
            )
            save_bundle(model, meta, self.out)
            self.reporter.emit(epoch_event(run_id, result))

        outcome = train(
            model,
            train_batches=loaders.train,
            test_batches=loaders.test,
            steps_per_epoch=steps,
            epochs=config.epochs,
            optimizer=optimizer,
            device=self.device,
            stop=self.stop,
            on_step=on_step,
            on_epoch=on_epoch,
            max_steps=max_steps,
        )
        if outcome.stopped:
            return self._cancelled(outcome.history, outcome.stopped_epoch, outcome.stopped_step)
        self.reporter.emit(
            Completed(
                run_id,
                metrics=outcome.history[-1].metrics(),
                model_path=str(self.out / WEIGHTS_FILE),
            )
        )
        return RunStatus.COMPLETED

    def _cancelled(self, history: list[EpochResult], epoch: int, step: int) -> RunStatus:
        cancelled = Cancelled(self.reporter.run_id, epoch=epoch, step=step, has_model=bool(history))
        self.reporter.emit(cancelled)
        return RunStatus.CANCELLED


def progress_event(run_id: str, report: StepReport) -> Progress:
    return Progress(
        run_id,
        epoch=report.epoch,
        step=report.step,
        steps=report.steps,
        loss=report.loss,
        images_per_sec=report.images_per_sec,
    )


def epoch_event(run_id: str, result: EpochResult) -> EpochEnd:
    return EpochEnd(
        run_id,
        epoch=result.epoch,
        epochs=result.epochs,
        train_loss=result.train_loss,
        train_acc=result.train_acc,
        test_loss=result.test_loss,
        test_acc=result.test_acc,
        seconds=result.seconds,
    )


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
