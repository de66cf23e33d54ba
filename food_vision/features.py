"""A frozen front's outputs, computed once per image and kept in memory-mapped files.

Training a new classifier on a frozen backbone would otherwise repeat the same forward pass
every epoch, which is nearly all of the run's time. Here each image goes through the front once
(a training image once per cached view: decoded once, then the plain view and some
augmented ones); the epochs then train on
the stored rows. Rows are written in order to ``<run>/features/<split>.npy`` and read back
through a memory map, so a large dataset costs disk pages the system can drop, not memory the
trainer holds. The folder appears complete or not at all, and records the key it was computed
for (front weights, transform, files): a later run with the same key reuses it. In a
data-parallel run each process passes its share of the images into a part file of the
leader's folder, and the leader joins the parts in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from food_vision.atomic import atomic_dir
from food_vision.datasets.loaders import ImageListDataset, seeded_loader
from food_vision.distributed import ALONE, Group
from food_vision.models.folding import fold_batch_norms

FEATURES_DIR = "features"
KEY_FILE = "key.json"
# Rows per forward pass: small, so that a stop request is answered within a second or two
# even on one busy core (a CPU convolution gains little from larger batches).
FEATURE_BATCH_ROWS = 8
JOIN_ROWS = 4096  # rows copied at a time when the processes' parts are joined

ProgressCallback = Callable[[int, int, float], None]  # images done, images in all, seconds


@dataclass(frozen=True)
class SplitImages:
    """One split to pass through the front (at least one image): each image gives ``views``
    rows, the plain view the model sees when it predicts, then ``views - 1`` augmented ones."""

    name: str
    samples: Sequence[tuple[Path, int]]
    plain: Callable[[Any], Tensor]
    augmented: Callable[[Any], Tensor] | None = None
    views: int = 1

    def __call__(self, image: Any) -> Tensor:
        extra = [self.augmented(image) for _ in range(self.views - 1)] if self.augmented else []
        return torch.stack([self.plain(image), *extra])


class CachedRows(Dataset[tuple[Tensor, int]]):
    """The stored rows of one split (``views`` consecutive rows per image) with their labels.

    ``__getitems__`` reads a whole batch with one indexed read of the memory map; the loader's
    collation is then a no-op (:func:`batch_as_is`).
    """

    def __init__(self, rows: np.ndarray, labels: np.ndarray) -> None:
        self.rows = rows
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return torch.from_numpy(np.array(self.rows[index])), int(self.labels[index])

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        order = np.asarray(indices)
        return torch.from_numpy(self.rows[order]), torch.from_numpy(self.labels[order])


def batch_as_is(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    return batch


class FeaturePassStopped(Exception):
    """The stop flag was set during the feature pass; nothing of it is kept."""


def cache_key(front: nn.Module, splits: Sequence[SplitImages], **settings: Any) -> dict[str, Any]:
    """What the rows depend on: the front's weights, the settings that shape each view, and
    each split's files (path, size, modification time) and labels."""
    weights = hashlib.sha256()
    for name, tensor in front.state_dict().items():
        weights.update(name.encode())
        weights.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    files = {split.name: _files_digest(split) for split in splits}
    views = {split.name: split.views for split in splits}
    return {"front": weights.hexdigest(), "files": files, "views": views, **settings}


def open_cached(folder: Path, key: dict[str, Any]) -> dict[str, CachedRows] | None:
    """The rows stored in ``folder`` when they were computed for ``key``; else None."""
    try:
        stored = json.loads((folder / KEY_FILE).read_text(encoding="utf-8"))
        if stored != json.loads(json.dumps(key)):
            return None
        return {name: _open_split(folder, name) for name in key["views"]}
    except (OSError, ValueError):
        return None


def compute_features(
    front: nn.Module,
    splits: Sequence[SplitImages],
    folder: Path,
    key: dict[str, Any],
    *,
    device: torch.device,
    workers: int,
    seed: int,
    stop: threading.Event,
    on_progress: ProgressCallback | None = None,
    group: Group = ALONE,
) -> dict[str, CachedRows] | None:
    """Pass every split through ``front`` into ``folder``; None when ``stop`` was set first.

    Each process of ``group`` passes its share of every split (consecutive images) into a
    part file; the leader joins the parts in order. An older cache in ``folder`` is replaced.
    A stopped pass, like a failed one, leaves no folder behind.
    """
    if group.leader:
        shutil.rmtree(folder, ignore_errors=True)
    front = fold_batch_norms(front).to(device)
    shares = [replace(split, samples=_share(split.samples, group)) for split in splits]
    progress = _Progress(sum(len(split.samples) for split in splits), on_progress, group.size)
    try:
        with _shared_dir(folder, group) as tmp:
            stopped = False
            try:
                for share in shares:
                    part = tmp / _part_name(share.name, group.rank, group.size)
                    _write_split(front, share, part, device, workers, seed, stop, progress)
            except FeaturePassStopped:
                stopped = True
            if group.agree(stopped):
                raise FeaturePassStopped
            if group.leader:
                for split in splits:
                    _write_labels(tmp, split)
                    if group.parallel:
                        _join_parts(tmp, split.name, group.size)
                (tmp / KEY_FILE).write_text(json.dumps(key, indent=1), encoding="utf-8")
    except FeaturePassStopped:
        return None
    group.barrier()  # the leader has moved the finished folder in
    return {split.name: _open_split(folder, split.name) for split in splits}


_NOT_SHARED = (
    "the run folder {folder} is not on a volume every machine of the run shares: put --out "
    "there, or pass --no-feature-cache"
)


class FeatureFolderNotShared(RuntimeError):
    """A process cannot see the leader's feature folder: the run folder is not on a volume
    that every machine of the run shares."""


@contextlib.contextmanager
def _shared_dir(folder: Path, group: Group) -> Iterator[Path]:
    """The leader's temporary folder, seen by every process; the leader moves it into place
    when the block ends well and removes it otherwise."""
    if not group.leader:
        tmp = Path(group.from_leader(None))
        if group.agree(not tmp.is_dir()):
            raise FeatureFolderNotShared(_NOT_SHARED.format(folder=folder.parent))
        yield tmp
        return
    with atomic_dir(folder) as tmp:
        group.from_leader(str(tmp))
        if group.agree(False):
            raise FeatureFolderNotShared(_NOT_SHARED.format(folder=folder.parent))
        yield tmp


def _share(samples: Sequence[tuple[Path, int]], group: Group) -> Sequence[tuple[Path, int]]:
    """This process's consecutive share of ``samples`` (all of them alone)."""
    count = len(samples)
    return samples[group.rank * count // group.size : (group.rank + 1) * count // group.size]


def _write_labels(folder: Path, split: SplitImages) -> None:
    labels = np.repeat(np.array([label for _, label in split.samples], dtype=np.int64), split.views)
    np.save(folder / f"{split.name}-labels.npy", labels)


def _join_parts(folder: Path, name: str, parts: int) -> None:
    """The processes' part files of split ``name``, in rank order, as one array file."""
    pieces = [folder / _part_name(name, rank, parts) for rank in range(parts)]
    arrays = [np.load(piece, mmap_mode="r") for piece in pieces if piece.stat().st_size]
    with open(folder / f"{name}.npy", "wb") as out:
        _write_header(out, (sum(len(a) for a in arrays), *arrays[0].shape[1:]))
        for array in arrays:
            for start in range(0, len(array), JOIN_ROWS):
                out.write(np.ascontiguousarray(array[start : start + JOIN_ROWS]).tobytes())
    for piece in pieces:
        piece.unlink()


def _part_name(split: str, rank: int, parts: int) -> str:
    return f"{split}.npy" if parts == 1 else f"{split}.part{rank}.npy"


class _Progress:
    """Images done of ``total``, counted for all ``processes`` (each does a like share)."""

    def __init__(self, total: int, report: ProgressCallback | None, processes: int = 1) -> None:
        self.total, self.done, self.report = total, 0, report
        self.processes = processes
        self.started = time.perf_counter()

    def add(self, images: int) -> None:
        self.done += images
        if self.report is not None:
            done = min(self.total, self.done * self.processes)
            self.report(done, self.total, time.perf_counter() - self.started)


def _write_split(
    front: nn.Module,
    split: SplitImages,
    path: Path,
    device: torch.device,
    workers: int,
    seed: int,
    stop: threading.Event,
    progress: _Progress,
) -> None:
    """The rows of ``split``'s images, in order, as an array file (empty for no images)."""
    images = ImageListDataset(split.samples, split)
    loader = seeded_loader(
        images,
        batch_size=max(1, FEATURE_BATCH_ROWS // split.views),
        workers=workers,
        seed=seed,
    )
    with open(path, "wb") as out, torch.inference_mode():
        header_written = False
        for batch, _ in loader:
            if stop.is_set():
                raise FeaturePassStopped
            rows = front(batch.flatten(0, 1).to(device)).float().cpu().numpy()
            if not header_written:
                _write_header(out, (len(split.samples) * split.views, *rows.shape[1:]))
                header_written = True
            out.write(np.ascontiguousarray(rows).tobytes())
            progress.add(batch.shape[0])


def _write_header(out: Any, shape: tuple[int, ...]) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False}
    np.lib.format.write_array_header_1_0(out, {**header, "shape": shape})


def _open_split(folder: Path, name: str) -> CachedRows:
    rows = np.load(folder / f"{name}.npy", mmap_mode="r")
    labels = np.load(folder / f"{name}-labels.npy")
    if len(rows) != len(labels):
        raise ValueError(f"cached features of {name} do not match their labels")
    return CachedRows(rows, labels)


def _files_digest(split: SplitImages) -> str:
    digest = hashlib.sha256()
    for path, label in split.samples:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{label}\n".encode())
    return digest.hexdigest()
