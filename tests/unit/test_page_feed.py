"""The page feed over real services: each run update is rendered once and the same string is
handed to every open page, and the snapshot is built once however many pages ask at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from backend.services.container import Services
from backend.services.hub import RunUpdate
from backend.web import render
from backend.web.page_feed import PageFeed
from food_vision.config import TrainConfig
from food_vision.events import Progress
from food_vision.settings import Settings

TIMEOUT = 5


@pytest.fixture
async def feed(tmp_path: Path) -> AsyncIterator[PageFeed]:
    services = Services.create(Settings(home=tmp_path))
    await services.start()
    page_feed = PageFeed(services)
    task = asyncio.create_task(page_feed.run())
    await asyncio.sleep(0)  # the feed subscribes to the run hub
    yield page_feed
    task.cancel()
    await services.stop()


def counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of ``render.<name>``."""
    calls: list[int] = []
    original: Callable[..., str] = getattr(render, name)

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(render, name, counting)
    return calls


def publish_progress(feed: PageFeed, steps: int) -> str:
    store = feed.services.store
    record = store.create(TrainConfig(dataset="demo", architecture="tinyvgg"))
    for step in range(1, steps + 1):
        event = Progress(record.id, epoch=1, step=step, steps=steps, loss=1.0, images_per_sec=9.0)
        store.append_event(record.id, event)
        feed.services.hub.publish(RunUpdate(record, event, step - 1))
    return record.id


async def test_each_update_is_rendered_once_for_every_page(
    feed: PageFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    panels = counted(monkeypatch, "run_panel")
    async with contextlib.AsyncExitStack() as stack:
        pages = [await stack.enter_async_context(feed.pages.subscribe()) for _ in range(50)]
        run_id = publish_progress(feed, steps=5)
        received = [
            [await asyncio.wait_for(page.get(), TIMEOUT) for _ in range(5)] for page in pages
        ]
    first = received[0]
    assert all(messages == first for messages in received)
    assert all(all(a is b for a, b in zip(messages, first, strict=True)) for messages in received)
    assert run_id in first[-1] and "5/5" in first[-1]
    # One render per update (the first one builds the snapshot the feed then advances).
    assert len(panels) == 5


async def test_the_snapshot_is_built_once_for_pages_connecting_together(
    feed: PageFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_progress(feed, steps=2)
    await asyncio.sleep(0.1)  # the feed has taken both updates
    snapshots = counted(monkeypatch, "snapshot")
    results = await asyncio.gather(*(feed.snapshot() for _ in range(20)))
    assert len({id(result) for result in results}) == 1
    assert len(snapshots) == 1
    publish_progress(feed, steps=1)  # a change: the next page gets a new snapshot
    await asyncio.sleep(0.1)
    assert (await feed.snapshot()) is not results[0]
    assert len(snapshots) == 2
