from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.services.inference import InferenceOptions, InferenceService, ModelNotFoundError
from backend.services.run_store import RunStore
from backend.services.uploads import UploadRejected
from backend.services.worker_pool import WorkerLost
from food_vision.bundle import WEIGHTS_FILE
from food_vision.predict import Predictor
from food_vision.runs import RunStatus, write_run
from tests.utils.factories import make_model_run, patterned_image


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@contextlib.contextmanager
def serving(store, **options) -> Iterator[InferenceService]:
    inference = InferenceService(
        store, InferenceOptions(**{"batch_window_seconds": 0.05, **options})
    )
    try:
        yield inference
    finally:
        inference.close()


def images(count: int) -> list[bytes]:
    return [patterned_image("PNG", size=(32 + i, 40 + 2 * i)) for i in range(count)]


async def test_concurrent_requests_are_batched_and_match_single_predictions(store):
    run_id = make_model_run(store.root)
    with serving(store, max_batch=8, lone_threads=2) as inference:
        uploads = images(8)
        results = await asyncio.gather(*(inference.predict(run_id, d, 3) for d in uploads))
        assert max(inference.batch_sizes) > 1
        assert inference.lone_requests >= 1  # the first, on the lone threads
        predictor = Predictor.from_bundle(store.folder(run_id))
        for data, result in zip(uploads, results, strict=True):
            from backend.services.uploads import decode_image

            image = decode_image(data, max_pixels=10**7, min_side=predictor.meta.input_size)
            alone = predictor.probabilities(predictor.preprocess(image)[None])[0]
            expected = predictor.top_k(alone[None], 3)[0]
            assert [p.label for p in result.predictions] == [p.label for p in expected]
            for got, want in zip(result.predictions, expected, strict=True):
                assert got.probability == pytest.approx(want.probability, abs=1e-5)


async def test_a_single_request_is_a_batch_of_one(store):
    run_id = make_model_run(store.root)
    with serving(store, batch_window_seconds=0.0) as inference:
        result = await inference.predict(run_id, images(1)[0], 2)
        assert inference.batch_sizes == [1]
        assert len(result.predictions) == 2 and result.model == run_id
        assert sum(p.probability for p in result.predictions) <= 1.0 + 1e-6


async def test_cache_is_bounded_and_least_recently_used_goes_first(store):
    ids = [make_model_run(store.root, seed=i) for i in range(3)]
    with serving(store, cache_size=2, batch_window_seconds=0.0) as inference:
        data = images(1)[0]
        for run_id in ids:
            await inference.predict(run_id, data, 1)
        assert inference.cached_models() == ids[1:]
        await inference.predict(ids[1], data, 1)
        assert inference.cached_models() == [ids[2], ids[1]]


async def test_retrained_weights_are_never_served_stale(store):
    run_id = make_model_run(store.root, seed=1)
    with serving(store, batch_window_seconds=0.0) as inference:
        data = images(1)[0]
        before = await inference.predict(run_id, data, 3)
        other = make_model_run(store.root, seed=99)
        weights = store.folder(run_id) / WEIGHTS_FILE
        os.replace(store.folder(other) / WEIGHTS_FILE, weights)
        os.utime(weights, ns=(time.time_ns(), time.time_ns() + 10**9))
        after = await inference.predict(run_id, data, 3)
        assert [p.probability for p in after.predictions] != [
            p.probability for p in before.predictions
        ]
        assert inference.cached_models() == [run_id]


async def test_deleted_or_unfinished_runs_have_no_model(store):
    with serving(store) as inference:
        run_id = make_model_run(store.root)
        store.delete(run_id)
        with pytest.raises(ModelNotFoundError):
            await inference.predict(run_id, images(1)[0], 1)
        running = make_model_run(store.root, status=RunStatus.RUNNING)
        with pytest.raises(ModelNotFoundError, match="no finished model"):
            await inference.predict(running, images(1)[0], 1)
        with pytest.raises(ModelNotFoundError):
            await inference.predict("../../etc", images(1)[0], 1)


async def test_the_work_runs_in_worker_processes_of_lower_priority(store):
    with serving(store) as inference:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        for pool in (inference._forward, inference._images):
            assert await pool.run(os.getpid) != os.getpid()
            assert await pool.run(os.getpriority, os.PRIO_PROCESS, 0) > mine


async def test_a_worker_that_dies_fails_its_request_and_is_replaced(store):
    run_id = make_model_run(store.root)
    with serving(store, batch_window_seconds=0.0) as inference:
        await inference.predict(run_id, images(1)[0], 1)
        with pytest.raises(WorkerLost, match="retry"):
            await inference._forward.run(os._exit, 1)
        result = await inference.predict(run_id, images(1)[0], 1)
        assert result.predictions


async def test_a_lone_request_does_not_wait_for_the_batch_window(store):
    run_id = make_model_run(store.root)
    with serving(store, batch_window_seconds=5.0) as inference:
        await inference.predict(run_id, images(1)[0], 1)  # loads the model
        started = time.perf_counter()
        await inference.predict(run_id, images(1)[0], 1)
        assert time.perf_counter() - started < 2.5


async def test_a_batch_waits_for_the_requests_still_being_decoded(store):
    run_id = make_model_run(store.root)
    with serving(store, batch_window_seconds=5.0, max_batch=8) as inference:
        await inference.predict(run_id, images(1)[0], 1)
        done, lone = len(inference.batch_sizes), inference.lone_requests
        started = time.perf_counter()
        await asyncio.gather(*(inference.predict(run_id, d, 1) for d in images(4)))
        assert time.perf_counter() - started < 2.5  # it ran once all the others had come
        lone = inference.lone_requests - lone  # the first found nothing under way
        assert lone >= 1 and max(inference.batch_sizes[done:]) == 4 - lone


async def test_a_warm_request_reads_the_run_record_only_after_it_changed(store, monkeypatch):
    run_id = make_model_run(store.root)
    reads: list[str] = []
    original = store.get
    monkeypatch.setattr(store, "get", lambda rid: reads.append(rid) or original(rid))
    with serving(store, batch_window_seconds=0.0) as inference:
        for _ in range(3):
            await inference.predict(run_id, images(1)[0], 1)
        assert reads == [run_id]
        record = original(run_id)
        time.sleep(0.01)  # a new modification time, even on coarse clocks
        write_run(store.folder(run_id), replace(record, status=RunStatus.RUNNING))
        with pytest.raises(ModelNotFoundError, match="no finished model"):
            await inference.predict(run_id, images(1)[0], 1)
        assert reads == [run_id, run_id]


async def test_a_lone_request_is_decoded_and_run_by_the_forward_worker_alone(store, monkeypatch):
    run_id = make_model_run(store.root)
    with serving(store, batch_window_seconds=0.0) as inference:

        async def no_image_worker(*args: object) -> None:
            raise AssertionError("a lone request went through the image worker")

        monkeypatch.setattr(inference._images, "run", no_image_worker)
        for data in images(2):
            assert (await inference.predict(run_id, data, 1)).predictions
        assert inference.lone_requests == 2 and inference.batch_sizes == [1, 1]
        with pytest.raises(UploadRejected):
            await inference.predict(run_id, b"not an image at all", 1)


def test_prepared_pixels_are_cropped_and_writable_for_torch():
    from backend.services.inference_worker import prepare

    pixels = prepare(patterned_image("JPEG", size=(120, 90)), 10**7, 64)
    assert pixels.shape == (64, 64, 3) and pixels.dtype.name == "uint8"
    assert pixels.flags.writeable  # torch.from_numpy warns on a read-only array
