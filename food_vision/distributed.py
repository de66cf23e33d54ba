"""One training process among several started by torchrun: who it is, and the few collective
steps that keep every process at the same step.

Data-parallel training hangs when one process waits in a collective that another never
enters, so every decision that ends a loop (a stop request, early stopping, a stopped feature
pass) is agreed on by all of them, and every figure reported is summed over all of them first.
A run in one process is the same code with a group of one, where each step costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler, Sampler

from food_vision.launch import under_torchrun
from food_vision.runtime import pick_device

# Words of gloo's and NCCL's errors when the process on the other end of a collective is gone.
T = TypeVar("T")
CPU = torch.device("cpu")
PEER_LOST_WORDS = ("gloo", "nccl", "connection reset", "connection closed", "broken pipe")


class LeaderFailed(RuntimeError):
    """The leader failed at a step the others wait for; it reports the error."""


@dataclass(frozen=True)
class Group:
    """This process's place among the run's processes; one process alone is ``Group()``."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    device: torch.device = CPU

    @property
    def leader(self) -> bool:
        """Rank 0 alone reports events and writes the run's files."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over every process (in float64, so counts stay exact)."""
        if not self.parallel:
            return [float(value) for value in values]
        tensor = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return [float(value) for value in tensor.tolist()]

    def agree(self, flag: bool) -> bool:
        """True on every process when it is true on any: they all stop at the same step."""
        return self.sum([float(flag)])[0] > 0 if self.parallel else flag

    def from_leader(self, value: Any) -> Any:
        """The leader's ``value``, on every process (a path, an id: small objects only)."""
        if not self.parallel:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def leader_first(self, work: Callable[[], T]) -> T:
        """``work`` done by the leader, then by the others (it may make what they then find:
        a generated dataset); when it fails on the leader, the others give up too."""
        if not self.parallel:
            return work()
        if not self.leader:
            if self.agree(False):
                raise LeaderFailed("the leading process failed; its error is the run's")
            return work()
        try:
            result = work()
        except Exception:
            self.agree(True)
            raise
        self.agree(False)
        return result

    def barrier(self) -> None:
        if self.parallel:
            dist.barrier()

    def train_sampler(self, dataset: Dataset[Any], seed: int) -> Sampler[int] | None:
        """This process's share of each epoch (None alone: the loader shuffles).

        Every process gets as many items as the others (a few repeated when the count does not
        divide), so they take the same number of steps; ``set_epoch`` reshuffles the shares.
        """
        if not self.parallel:
            return None
        return DistributedSampler(dataset, num_replicas=self.size, rank=self.rank, seed=seed)

    def eval_sampler(self, dataset: Sized) -> Iterable[int] | None:
        """Every ``size``-th item from this process's rank on: the shares cover the split once,
        nothing repeated, as evaluation counts each image once and syncs only at its end."""
        return range(self.rank, len(dataset), self.size) if self.parallel else None

    def wrap(self, net: nn.Module) -> nn.Module:
        """``net`` with its gradients averaged over the processes at every step."""
        if not self.parallel or not any(p.requires_grad for p in net.parameters()):
            return net
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(net.to(self.device), device_ids=ids)

    def close(self) -> None:
        if self.parallel and dist.is_initialized():
            dist.destroy_process_group()


ALONE = Group()


def join_group(device: str) -> Group:
    """This process's group: torchrun's when launched by it (gloo on the CPU, NCCL with one GPU
    per process), else a group of one on ``device``."""
    if not under_torchrun():
        return Group(device=pick_device(device))
    local_rank = int(os.environ["LOCAL_RANK"])
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Group(
        rank=dist.get_rank(),
        size=dist.get_world_size(),
        local_rank=local_rank,
        local_size=int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
        device=chosen,
    )


def is_peer_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective failing because another process is gone (the launcher
    then reports that process, not this consequence)."""
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(word in text for word in PEER_LOST_WORDS)
