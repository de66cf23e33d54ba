"""The runs API's answers, composed once for both web layers: each takes the services and
what the request named, and returns the response model the OpenAPI document describes."""

from __future__ import annotations

import asyncio
from typing import Any

from backend.services.comparison import Comparison
from backend.services.container import Services
from backend.web.schemas import ModelOut, RunDetail, RunOut
from food_vision.config import TrainConfig
from food_vision.runs import RunRecord


async def live_run(services: Services, run_id: str) -> RunRecord:
    """The run, with the live state of the active one; RunNotFoundError for an unknown id."""
    return services.runs.live(await asyncio.to_thread(services.store.get, run_id))


async def start_run(services: Services, config: TrainConfig) -> RunOut:
    """Queued (with its position) or already running."""
    record = await services.runs.start(config)
    positions = await services.runs.positions([record])
    return RunOut.of(services.runs.live(record), position=positions.get(record.id))


async def list_runs(services: Services) -> list[RunOut]:
    records = await asyncio.to_thread(services.store.list)
    positions = await services.runs.positions(records)
    return [
        RunOut.of(services.runs.live(r), services.training.is_cancelling(r.id), positions.get(r.id))
        for r in records
    ]


async def run_detail(services: Services, run: RunRecord) -> RunDetail:
    positions = await services.runs.positions([run])
    return RunDetail.of_view(await services.runs.view(run), positions.get(run.id))


async def cancel_run(services: Services, run: RunRecord) -> RunOut:
    record = await services.runs.cancel(run)
    return RunOut.of(record, cancelling=services.training.is_cancelling(run.id))


async def stop_run(services: Services, run: RunRecord) -> RunOut:
    return RunOut.of(await services.runs.stop(run), stopping=True)


async def list_models(services: Services) -> list[ModelOut]:
    models = await asyncio.to_thread(services.runs.usable_models)
    return [
        ModelOut(
            id=record.id,
            architecture=meta.architecture,
            dataset=meta.dataset,
            classes=meta.classes,
            test_acc=meta.metrics.get("test_acc"),
            epoch=meta.epoch,
            status=record.status.value,
            created_at=record.created_at,
        )
        for record, meta in models
    ]


def comparison_body(comparison: Comparison) -> dict[str, Any]:
    """Runs side by side: each with its history, the options that differ, and the best."""
    return {
        "runs": [RunDetail.of_view(view).model_dump(mode="json") for view in comparison.views],
        "differences": comparison.differences,
        "best": comparison.best_id,
    }


def split_ids(ids: list[str]) -> list[str]:
    """Run ids given comma-separated, repeated, or both."""
    return [part.strip() for value in ids for part in value.split(",") if part.strip()]
