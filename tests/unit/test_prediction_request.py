"""What a prediction request names: top-k, the model (named, or the best), a sample photo."""

from __future__ import annotations

import pytest

from backend.services.container import Services
from backend.services.inference import ModelNotFoundError
from backend.services.prediction_request import (
    DEFAULT_TOP_K,
    MAX_TOP_K,
    InvalidTopK,
    SampleNotFoundError,
    choose_model,
    listed_sample,
    parse_top_k,
)
from backend.services.samples import list_samples
from food_vision.runs import RunStatus
from food_vision.settings import Settings
from tests.utils.factories import make_model_run


@pytest.fixture
def services(tmp_path):
    services = Services.create(Settings(home=tmp_path))
    yield services
    services.inference.close()


@pytest.mark.parametrize(("text", "top_k"), [(None, DEFAULT_TOP_K), ("", DEFAULT_TOP_K), ("1", 1)])
def test_top_k_defaults_when_empty(text, top_k):
    assert parse_top_k(text) == top_k


def test_top_k_up_to_the_maximum_is_accepted():
    assert parse_top_k(str(MAX_TOP_K)) == MAX_TOP_K


@pytest.mark.parametrize("text", ["0", "21", "-1", "two", "1.5", " 2"])
def test_top_k_out_of_range_or_not_a_whole_number_is_refused(text):
    with pytest.raises(InvalidTopK, match="top_k must be a whole number from 1 to 20"):
        parse_top_k(text)


async def test_no_model_yet_says_so(services):
    with pytest.raises(ModelNotFoundError, match="no trained model yet"):
        await choose_model(services.runs, None)


async def test_the_best_usable_model_is_chosen_when_none_is_named(services):
    better = make_model_run(services.store.root, metrics={"test_acc": 0.9})
    newer = make_model_run(services.store.root, metrics={"test_acc": 0.6})
    make_model_run(services.store.root, status=RunStatus.CANCELLED, metrics={"test_acc": 0.99})
    make_model_run(services.store.root, status=RunStatus.RUNNING)
    assert await choose_model(services.runs, None) == better
    assert await choose_model(services.runs, "") == better
    assert await choose_model(services.runs, newer) == newer


@pytest.mark.parametrize("requested", ["../../etc/passwd", "/etc/passwd", "a", "x" * 500])
async def test_a_malformed_run_id_is_refused_before_any_lookup(services, requested):
    with pytest.raises(ModelNotFoundError, match="no trained model") as info:
        await choose_model(services.runs, requested)
    assert len(str(info.value)) < 120


async def test_only_listed_samples_are_found(services):
    with pytest.raises(SampleNotFoundError, match="no sample"):
        await listed_sample(services.settings.resolved_data_dir, "demo/../../etc/passwd")


async def test_a_listed_sample_is_found_by_its_id(demo_data_dir):
    (sample,) = list_samples(demo_data_dir, per_dataset=1)
    assert await listed_sample(demo_data_dir, sample.id) == sample
