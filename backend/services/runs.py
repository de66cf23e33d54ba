"""Run operations shared by the JSON API and the page: start with checks, detail, delete."""

from __future__ import annotations

import asyncio

from backend.services.container import Services
from backend.services.run_view import RunView, build_view
from food_vision.bundle import BundleError, ModelMeta, read_meta
from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.registry import UnknownDatasetError
from food_vision.runs import RunRecord


async def start_run(services: Services, config: TrainConfig) -> RunRecord:
    """Validate everything a person can get wrong, then start; no process for a bad request.

    Raises ConfigError (with the field), or RunBusyError when a run is active.
    """
    config = config.validated()
    try:
        info = await services.datasets.check(config.dataset)
    except UnknownDatasetError as exc:
        raise ConfigError("dataset", str(exc)) from None
    if info.problem:
        raise ConfigError("dataset", info.problem)
    return await services.training.start(config)


async def run_view(services: Services, record: RunRecord) -> RunView:
    events = await services.store.aevents(record.id)
    return build_view(record, events, services.training.is_cancelling(record.id))


async def delete_run(services: Services, record: RunRecord) -> None:
    if record.status.is_active:
        raise RuntimeError(f"run {record.id} is active; cancel it first")
    await asyncio.to_thread(services.store.delete, record.id)


def usable_models(services: Services) -> list[tuple[RunRecord, ModelMeta]]:
    """Runs that finished with weights (completed, or cancelled after an epoch), newest first."""
    models = []
    for record in services.store.list():
        if record.status.is_active or not record.has_model:
            continue
        try:
            meta = read_meta(services.store.folder(record.id))
        except BundleError:
            continue
        if services.store.has_model(record.id):
            models.append((record, meta))
    return models
