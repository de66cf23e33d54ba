"""Model bundles: round trip, and every way a bundle on disk can be wrong."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from food_vision.bundle import (
    META_FILE,
    WEIGHTS_FILE,
    BundleError,
    ModelMeta,
    has_bundle,
    load_bundle,
    read_meta,
    save_bundle,
)
from food_vision.models.tinyvgg import TinyVGG
from tests.utils.factories import make_bundle, malicious_pickle, malicious_torch_checkpoint


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    make_bundle(folder, seed=3)
    return folder


def edit_meta(folder: Path, **changes: object) -> None:
    data = json.loads((folder / META_FILE).read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    (folder / META_FILE).write_text(json.dumps(data))


def test_round_trip_gives_the_same_outputs(tmp_path: Path) -> None:
    model, meta = make_bundle(tmp_path / "run", seed=7)
    # Make the batch-norm statistics non-trivial so that buffers are part of the check.
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.uniform_(-0.5, 0.5)
    save_bundle(model, meta, tmp_path / "run")

    loaded, loaded_meta = load_bundle(tmp_path / "run")

    assert loaded_meta == meta
    assert not loaded.training
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(loaded(x), model.eval()(x))
    assert set(os.listdir(tmp_path / "run")) == {WEIGHTS_FILE, META_FILE}


def test_meta_round_trip_keeps_every_field(bundle: Path) -> None:
    meta = read_meta(bundle)
    assert meta.architecture == "tinyvgg"
    assert meta.classes == ["pizza", "steak", "sushi"]
    assert (meta.input_size, meta.epoch, meta.dataset) == (64, 1, "demo")
    assert meta.metrics == {"test_acc": 0.5}
    assert ModelMeta.from_dict(meta.to_dict()) == meta


def test_class_count_not_matching_head_names_both_counts(bundle: Path) -> None:
    edit_meta(bundle, classes=["a", "b", "c", "d", "e"])
    with pytest.raises(BundleError, match=r"head has 3 outputs but meta\.json lists 5 classes"):
        load_bundle(bundle)


@pytest.mark.parametrize("change", ["narrower", "key-missing", "key-extra"])
def test_weights_not_matching_the_architecture_are_refused(bundle: Path, change: str) -> None:
    state = load_file(str(bundle / WEIGHTS_FILE))
    if change == "narrower":
        state = TinyVGG(3, hidden=8).state_dict()
    elif change == "key-missing":
        del state["features.0.0.weight"]
    else:
        state["extra.weight"] = torch.zeros(2)
    save_file({k: v.contiguous() for k, v in state.items()}, str(bundle / WEIGHTS_FILE))
    with pytest.raises(BundleError, match="weights do not match tinyvgg"):
        load_bundle(bundle)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(bytes(range(256)) * 8, id="random-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x08\x00\x00\x00\x00\x00\x00\x00{}", id="header-too-small"),
    ],
)
def test_weights_that_are_not_safetensors(bundle: Path, content: bytes) -> None:
    (bundle / WEIGHTS_FILE).write_bytes(content)
    with pytest.raises(BundleError, match="not a valid safetensors file"):
        load_bundle(bundle)


def test_truncated_weights_are_refused(bundle: Path) -> None:
    data = (bundle / WEIGHTS_FILE).read_bytes()
    (bundle / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="not a valid safetensors file"):
        load_bundle(bundle)


def test_malicious_pickle_named_safetensors_is_never_unpickled(
    bundle: Path, tmp_path: Path
) -> None:
    # The payload is live: plain unpickling really does create its marker file.
    proof = tmp_path / "proof"
    pickle.loads(malicious_pickle(proof))
    assert proof.exists()

    marker = tmp_path / "pwned"
    (bundle / WEIGHTS_FILE).write_bytes(malicious_pickle(marker))
    with pytest.raises(BundleError):
        load_bundle(bundle)
    malicious_torch_checkpoint(bundle / WEIGHTS_FILE, marker)
    with pytest.raises(BundleError):
        load_bundle(bundle)
    assert not marker.exists()


@pytest.mark.parametrize("missing", [WEIGHTS_FILE, META_FILE])
def test_missing_file(bundle: Path, missing: str) -> None:
    (bundle / missing).unlink()
    assert not has_bundle(bundle)
    with pytest.raises(BundleError, match=f"no model in .*{missing} is missing"):
        load_bundle(bundle)


def test_missing_folder(tmp_path: Path) -> None:
    assert not has_bundle(tmp_path / "nothing")
    with pytest.raises(BundleError, match="no model in"):
        load_bundle(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "unreadable"),
        ("", "unreadable"),
        ("[1, 2]", "not a JSON object"),
        ('"tinyvgg"', "not a JSON object"),
        ("\udcff", "unreadable"),
    ],
)
def test_invalid_meta_json(bundle: Path, text: str, message: str) -> None:
    (bundle / META_FILE).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle)


@pytest.mark.parametrize("field", ["architecture", "classes", "input_size", "mean", "std"])
def test_meta_missing_required_field(bundle: Path, field: str) -> None:
    edit_meta(bundle, **{field: None})
    with pytest.raises(BundleError, match=f"lacks a required field: '{field}'"):
        load_bundle(bundle)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"architecture": ["tinyvgg"]}, "architecture"),
        ({"architecture": 5}, "architecture"),
        ({"classes": "pizza,steak"}, "classes"),
        ({"classes": ["pizza"]}, "classes"),
        ({"classes": ["pizza", 3, "sushi"]}, "classes"),
        ({"classes": ["pizza", "pizza", "sushi"]}, "classes"),
        ({"input_size": "big"}, "input_size"),
        ({"input_size": 0}, "input_size"),
        ({"input_size": True}, "input_size"),
        ({"mean": [0.5]}, "mean"),
        ({"mean": ["a", "b", "c"]}, "mean"),
        ({"std": [0.5, 0.0, 0.5]}, "std"),
        ({"metrics": [1, 2]}, "metrics"),
        ({"classes": ["pizza", ""]}, "classes"),
        ({"input_size": 4097}, "input_size"),
        ({"input_size": 64.0}, "input_size"),
        ({"mean": [float("nan"), 0.5, 0.5]}, "mean"),
        ({"mean": [True, 0.5, 0.5]}, "mean"),
        ({"std": [0.5, 0.5, 0.5, 0.5]}, "std"),
        ({"std": [float("inf"), 0.5, 0.5]}, "std"),
        ({"std": [0.5, -1, 0.5]}, "std"),
        ({"epoch": 1.5}, "epoch"),
        ({"dataset": 3}, "dataset"),
        ({"created": "today"}, "created"),
    ],
)
def test_meta_with_wrong_types_or_values(bundle: Path, changes: dict, field: str) -> None:
    edit_meta(bundle, **changes)
    with pytest.raises(BundleError, match=field):
        load_bundle(bundle)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": 5}, "architecture must be a string"),
        ({"classes": ["pizza"]}, "classes must be a list of at least two distinct, non-empty"),
        ({"input_size": 0}, "input_size must be a whole number between 8 and 4096"),
        ({"mean": [0.5]}, "mean must be a list of 3 numbers"),
        ({"std": [0.5, 0.0, 0.5]}, "std must be a list of 3 numbers above 0"),
        ({"metrics": [1, 2]}, "metrics must be an object"),
    ],
)
def test_meta_errors_state_the_rule(bundle: Path, changes: dict, message: str) -> None:
    edit_meta(bundle, **changes)
    with pytest.raises(BundleError, match=f"^meta\\.json: {message}"):
        read_meta(bundle)


@pytest.mark.parametrize("field", list(ModelMeta.__dataclass_fields__))
def test_every_meta_field_states_its_rule(bundle: Path, field: str) -> None:
    edit_meta(bundle, **{field: [[]]})
    with pytest.raises(BundleError, match=f"^meta\\.json: {field} must be [a-z0-9 ]+"):
        read_meta(bundle)


def test_meta_accepts_the_edges_of_its_ranges(bundle: Path) -> None:
    for size in (8, 4096):
        edit_meta(bundle, input_size=size, mean=[-1, 0, 1], std=[1, 2, 3], extra="ignored")
        meta = read_meta(bundle)
        assert meta.input_size == size
        assert meta.mean == [-1.0, 0.0, 1.0] and meta.std == [1.0, 2.0, 3.0]


def test_unknown_architecture(bundle: Path) -> None:
    edit_meta(bundle, architecture="resnet9000")
    with pytest.raises(BundleError, match="unknown architecture 'resnet9000'"):
        load_bundle(bundle)


def test_half_written_temp_file_is_never_loaded(tmp_path: Path) -> None:
    """A writer killed mid-save leaves ``.model.safetensors.*.tmp``: no bundle yet."""
    source = tmp_path / "complete"
    make_bundle(source)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / f".{WEIGHTS_FILE}.abc123.tmp").write_bytes((source / WEIGHTS_FILE).read_bytes())
    (folder / f".{META_FILE}.def456.tmp").write_bytes((source / META_FILE).read_bytes())

    assert not has_bundle(folder)
    with pytest.raises(BundleError, match="missing"):
        load_bundle(folder)

    # Only the weights' temp file is there beside the final meta: still no bundle.
    (folder / META_FILE).write_bytes((source / META_FILE).read_bytes())
    assert not has_bundle(folder)
    with pytest.raises(BundleError, match=f"{WEIGHTS_FILE} is missing"):
        load_bundle(folder)


def test_stale_temp_file_beside_a_complete_bundle_is_ignored(bundle: Path) -> None:
    (bundle / f".{WEIGHTS_FILE}.zzz.tmp").write_bytes(b"half a file")
    _, meta = load_bundle(bundle)
    assert has_bundle(bundle)
    assert meta.classes == ["pizza", "steak", "sushi"]


def test_save_leaves_no_temp_files_and_overwrites(bundle: Path) -> None:
    model, meta = load_bundle(bundle)
    save_bundle(model, ModelMeta(**{**meta.to_dict(), "epoch": 2}), bundle)
    assert set(os.listdir(bundle)) == {WEIGHTS_FILE, META_FILE}
    assert read_meta(bundle).epoch == 2
