"""The PostgreSQL event channel on its own: what a worker publishes reaches the server's hub
each event once and in order, the same event published twice is stored once, and a stop asked
on the server reaches the worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.services.event_channel import STOP_CHANNEL, EventChannel, listen
from backend.services.hub import Hub, RunUpdate, ServerMessage
from backend.services.remote_runs import RemoteRuns
from backend.services.run_queue import RunQueue
from backend.services.run_store import RunStore
from food_vision.config import TrainConfig
from food_vision.events import Completed, Progress
from food_vision.runs import RunStatus

TIMEOUT = 30.0


async def test_events_arrive_once_in_order_and_stops_reach_the_worker(
    tmp_path: Path, queue_database: str
) -> None:
    store = RunStore(tmp_path / "runs")
    record = store.create(TrainConfig.parse({"dataset": "demo", "architecture": "tinyvgg"}))
    record = record.evolve(status=RunStatus.RUNNING, job_id=1)
    store.save(record)
    hub: Hub[ServerMessage] = Hub()
    queue = RunQueue(queue_database, max_queued=5)
    await queue.open()
    remote = RemoteRuns(store, hub, queue)
    channel = EventChannel(queue_database)
    writer = asyncio.create_task(channel.run())
    stops: asyncio.Queue[str] = asyncio.Queue()

    async def stop_asked(run_id: str) -> None:
        stops.put_nowait(run_id)

    listening = asyncio.Event()

    async def listening_now() -> None:
        listening.set()

    stop_listener = asyncio.create_task(
        listen(queue_database, STOP_CHANNEL, stop_asked, on_connect=listening_now)
    )
    await remote.start()
    try:
        events = [
            Progress(record.id, epoch=1, step=step, steps=3, loss=1.0, images_per_sec=9.0)
            for step in range(3)
        ] + [Completed(record.id, metrics={"test_acc": 1.0}, model_path="model.safetensors")]
        async with hub.subscribe() as subscription:
            for seq, event in enumerate(events):
                channel.publish(RunUpdate(record, event, seq))
                if seq == 1:
                    channel.publish(RunUpdate(record, event, seq))  # a retry: stored once
            await asyncio.wait_for(channel.drain(), TIMEOUT)
            received = []
            while len(received) < len(events):
                update = await asyncio.wait_for(subscription.get(), TIMEOUT)
                if isinstance(update, RunUpdate) and update.event is not None:
                    received.append((update.seq, update.event))
        assert received == list(enumerate(events))
        assert update.record.status is RunStatus.COMPLETED

        await asyncio.wait_for(listening.wait(), TIMEOUT)
        await queue.query("SELECT pg_notify(%(c)s, %(r)s)", c=STOP_CHANNEL, r=record.id)
        assert await asyncio.wait_for(stops.get(), TIMEOUT) == record.id
    finally:
        for task in (writer, stop_listener):
            task.cancel()
        await remote.stop()
        await queue.close()
