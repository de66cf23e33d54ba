"""The replay protocol of one run's event stream, driven without a socket: a real run store,
a real hub, events appended and published the way the training service does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from backend.services.event_replay import replay_events
from backend.services.hub import Hub, RunUpdate, Subscription
from backend.services.run_store import RunStore
from food_vision.config import TrainConfig
from food_vision.events import Completed, Event, Failed, Progress
from food_vision.runs import RunRecord

TIMEOUT = 5


class Run:
    """A run in a real store whose events are appended, then published with their index."""

    def __init__(self, store: RunStore, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        self.record: RunRecord = store.create(TrainConfig(dataset="demo", architecture="tinyvgg"))
        self.events: list[Event] = []
        self.active = True

    @property
    def id(self) -> str:
        return self.record.id

    def progress(self, step: int) -> Progress:
        return Progress(self.id, epoch=1, step=step, steps=10, loss=1.0, images_per_sec=5.0)

    def completed(self) -> Completed:
        return Completed(self.id, metrics={"test_acc": 0.5}, model_path="model.safetensors")

    def store_only(self, event: Event) -> int:
        """Appended to the run's events without telling subscribers (a missed message)."""
        self.store.append_event(self.id, event)
        self.events.append(event)
        return len(self.events) - 1

    def emit(self, event: Event) -> None:
        seq = self.store_only(event)
        self.hub.publish(RunUpdate(self.record, event, seq))

    def stream(self, subscription: Subscription) -> AsyncGenerator[Event, None]:
        async def is_active() -> bool:
            return self.active

        return replay_events(self.store, subscription, self.id, is_active)


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def run(tmp_path, hub) -> Run:
    return Run(RunStore(tmp_path / "runs"), hub)


async def take(stream: AsyncGenerator[Event, None], count: int) -> list[Event]:
    return [await asyncio.wait_for(anext(stream), TIMEOUT) for _ in range(count)]


async def rest(stream: AsyncGenerator[Event, None]) -> list[Event]:
    """Everything until the stream ends; fails when it does not end in time."""

    async def collect() -> list[Event]:
        return [event async for event in stream]

    return await asyncio.wait_for(collect(), TIMEOUT)


def lines(events: list[Event]) -> list[str]:
    return [event.encode() for event in events]


async def test_a_finished_run_is_replayed_from_disk_and_the_stream_ends(run, hub):
    for step in range(3):
        run.store_only(run.progress(step))
    run.store_only(run.completed())
    async with hub.subscribe() as subscription:
        assert lines(await rest(run.stream(subscription))) == lines(run.events)


async def test_a_run_that_is_not_active_ends_with_what_is_stored(run, hub):
    run.store_only(run.progress(0))
    run.store_only(run.progress(1))
    run.active = False
    async with hub.subscribe() as subscription:
        assert lines(await rest(run.stream(subscription))) == lines(run.events)


async def test_live_events_follow_the_stored_ones_in_order(run, hub):
    run.store_only(run.progress(0))
    async with hub.subscribe() as subscription:
        stream = run.stream(subscription)
        assert lines(await take(stream, 1)) == lines(run.events)
        for step in range(1, 4):
            run.emit(run.progress(step))
        run.emit(run.completed())
        assert lines(await rest(stream)) == lines(run.events[1:])


async def test_the_stream_closes_after_the_final_event(run, hub):
    run.store_only(run.progress(0))
    async with hub.subscribe() as subscription:
        stream = run.stream(subscription)
        await take(stream, 1)
        run.emit(Failed(run.id, error="out of memory"))
        run.emit(run.progress(99))
        assert [event.type for event in await rest(stream)] == ["failed"]


async def test_a_gap_in_the_sequence_is_filled_from_disk(run, hub):
    run.store_only(run.progress(0))
    async with hub.subscribe() as subscription:
        stream = run.stream(subscription)
        await take(stream, 1)
        run.store_only(run.progress(1))
        run.emit(run.progress(2))
        assert lines(await take(stream, 2)) == lines(run.events[1:3])
        run.emit(run.completed())
        assert lines(await rest(stream)) == lines(run.events[3:])


async def test_a_lagging_subscriber_catches_up_from_disk(tmp_path):
    hub = Hub(queue_size=2)
    run = Run(RunStore(tmp_path / "runs"), hub)
    run.store_only(run.progress(0))
    async with hub.subscribe() as subscription:
        stream = run.stream(subscription)
        await take(stream, 1)
        for step in range(1, 8):
            run.emit(run.progress(step))
        run.emit(run.completed())
        assert lines(await rest(stream)) == lines(run.events[1:])


async def test_events_already_replayed_are_not_sent_twice(run, hub):
    async with hub.subscribe() as subscription:
        run.emit(run.progress(0))
        run.emit(run.progress(1))
        stream = run.stream(subscription)
        assert lines(await take(stream, 2)) == lines(run.events)
        run.emit(run.completed())
        assert [event.type for event in await rest(stream)] == ["completed"]


async def test_updates_about_other_runs_or_without_an_event_are_skipped(run, hub):
    other = Run(run.store, hub)
    async with hub.subscribe() as subscription:
        stream = run.stream(subscription)
        other.emit(other.completed())
        hub.publish(RunUpdate(run.record, cancelling=True))
        run.emit(run.completed())
        assert lines(await rest(stream)) == lines(run.events)
