"""torchvision ImageNet weights: fetched once from a mirror into the torch cache, read safely."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchvision.models as tvm

from food_vision.models import ARCHITECTURES, get_architecture
from food_vision.models.freeze import set_train_mode
from food_vision.models.torchvision_models import (
    PretrainedWeightsError,
    checkpoint_dir,
    mobilenet_v3_small,
)
from food_vision.models.weights_cache import OFFICIAL_BASE, torch_hub_dir
from tests.utils.factories import malicious_torch_checkpoint
from tests.utils.http_server import LocalHTTPServer, closed_port, serve_files

FILENAME = "mobilenet_v3_small-047dcff4.pth"
PATH = f"/models/{FILENAME}"


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict]:
    """A state dict for mobilenet_v3_small (random, seeded) as torch.save bytes."""
    torch.manual_seed(0)
    state = tvm.mobilenet_v3_small().state_dict()
    path = tmp_path_factory.mktemp("weights") / FILENAME
    torch.save(state, path)
    return path.read_bytes(), state


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "torch"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture
def mirror(
    weights_file: tuple[bytes, dict], monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalHTTPServer]:
    with serve_files() as server:
        server.files[PATH] = weights_file[0]
        monkeypatch.setenv("FOODVISION_WEIGHTS_MIRROR", server.url("models/"))
        yield server


def test_cache_folder_follows_torch_home(torch_home: Path) -> None:
    assert checkpoint_dir() == torch_home / "hub" / "checkpoints"


def test_pretrained_downloads_once_then_uses_the_cache(
    torch_home: Path, mirror: LocalHTTPServer, weights_file: tuple[bytes, dict]
) -> None:
    model = mobilenet_v3_small(3, pretrained=True)

    assert mirror.hits[PATH] == 1
    cached = torch_home / "hub" / "checkpoints" / FILENAME
    assert cached.read_bytes() == weights_file[0]
    assert [p.name for p in cached.parent.iterdir()] == [FILENAME]  # no partial file left

    again = get_architecture("mobilenet_v3_small").build(3, pretrained=True)
    assert mirror.total_hits == 1

    for built in (model, again):
        assert built.classifier[-1].out_features == 3
        backbone = built.state_dict()["features.0.0.weight"]
        assert torch.equal(backbone, weights_file[1]["features.0.0.weight"])
        trainable = {name for name, p in built.named_parameters() if p.requires_grad}
        assert trainable
        assert all(name.startswith("classifier.") for name in trainable)
        assert any(name.startswith("classifier.3.") for name in trainable)
        frozen = [p for name, p in built.named_parameters() if not name.startswith("classifier.")]
        assert frozen and not any(p.requires_grad for p in frozen)


def test_frozen_backbone_batch_norm_stays_in_eval(
    torch_home: Path, mirror: LocalHTTPServer
) -> None:
    model = mobilenet_v3_small(3, pretrained=True)
    set_train_mode(model)
    norms = [m for m in model.features.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert model.classifier.training


def test_not_pretrained_makes_no_request(torch_home: Path, mirror: LocalHTTPServer) -> None:
    model = mobilenet_v3_small(5, pretrained=False)
    assert model.classifier[-1].out_features == 5
    assert all(p.requires_grad for p in model.parameters())
    assert mirror.total_hits == 0
    assert not (torch_home / "hub").exists()


@pytest.mark.timeout(60)
def test_offline_and_uncached_fails_clearly(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOODVISION_WEIGHTS_MIRROR", f"http://127.0.0.1:{closed_port()}/models/")
    with pytest.raises(PretrainedWeightsError) as caught:
        mobilenet_v3_small(3, pretrained=True)
    message = str(caught.value)
    assert FILENAME in message
    assert str(torch_home / "hub" / "checkpoints") in message
    assert "without --pretrained" in message
    folder = torch_home / "hub" / "checkpoints"
    assert not folder.exists() or not list(folder.iterdir())


def test_mirror_without_the_file_fails_clearly(
    torch_home: Path, http_files: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOODVISION_WEIGHTS_MIRROR", http_files.url("models"))
    with pytest.raises(PretrainedWeightsError, match="HTTP 404"):
        mobilenet_v3_small(3, pretrained=True)
    assert http_files.hits[PATH] == 1


def test_cached_malicious_pickle_is_refused(
    torch_home: Path, tmp_path: Path, mirror: LocalHTTPServer
) -> None:
    # The payload is live: loading it without weights_only creates the marker.
    proof = tmp_path / "proof"
    live = malicious_torch_checkpoint(tmp_path / "live.pth", proof)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.load(live, weights_only=False)
    assert proof.exists()

    marker = tmp_path / "pwned"
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    malicious_torch_checkpoint(folder / FILENAME, marker)

    with pytest.raises(PretrainedWeightsError, match="unreadable"):
        mobilenet_v3_small(3, pretrained=True)
    assert not marker.exists()
    assert mirror.total_hits == 0  # a cached file is used as it is, never re-fetched


def test_cached_file_with_wrong_contents_is_refused(
    torch_home: Path, mirror: LocalHTTPServer
) -> None:
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / FILENAME).write_bytes(b"\x00" * 100)
    with pytest.raises(PretrainedWeightsError, match="unreadable"):
        mobilenet_v3_small(3, pretrained=True)


@pytest.mark.parametrize(
    ("name", "weights"),
    [
        ("mobilenet_v3_small", "MobileNet_V3_Small_Weights"),
        ("efficientnet_b0", "EfficientNet_B0_Weights"),
        ("efficientnet_b2", "EfficientNet_B2_Weights"),
    ],
)
def test_the_registry_names_the_files_torchvision_downloads(name: str, weights: str) -> None:
    """The server tells, without torch, whether a model's weights are cached: by these."""
    official = getattr(tvm, weights).DEFAULT
    arch = ARCHITECTURES[name]
    assert official.url == OFFICIAL_BASE + arch.weights_file
    assert arch.weights_mb == pytest.approx(official.meta["_file_size"], abs=0.1)


def test_the_cache_folder_is_found_as_torch_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    assert torch_hub_dir() == Path(torch.hub.get_dir())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert torch_hub_dir() == Path(torch.hub.get_dir())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert torch_hub_dir() == Path(torch.hub.get_dir())
