"""Which process of a launch this is: rank, world size, local rank and its device.

    context = distributed.current().on_device(device.resolve(cfg.device))
    if context.is_main:
        ...                       # only rank 0 writes files and prints
    stats = context.mean(stats)   # at log intervals: the same numbers on every rank

torchrun and submitit's `helpers.TorchDistributedEnvironment` tell each process who it is through
RANK, WORLD_SIZE and LOCAL_RANK; a plain `gan train` has none of them and gets rank 0 of 1, for
which everything here changes nothing. torch.distributed is not initialised here (multi-GPU
training is a later step); `mean` reduces over the process group when one has been initialised.
Nothing here imports torch at import time: `gan --help` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gan_cli.errors import UserError

# The variables torchrun (and submitit's TorchDistributedEnvironment) set for every process.
RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str | None = None  # set by on_device once the config's device is resolved

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and talks to the console."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    def on_device(self, resolved: Any) -> Context:
        """This context with its device: with several processes a bare `cuda` (what
        gan_cli.device.resolve gives for device=auto or cuda) means this rank's own GPU,
        cuda:<local_rank>; with one process the device is kept as it is."""
        name = str(resolved)
        if self.is_distributed and name == "cuda":
            name = f"cuda:{self.local_rank}"
        return replace(self, device=name)

    def mean(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """The average over all ranks of each statistic (device tensors), once per log interval so
        the step never waits on another process. One process, or no process group yet: unchanged."""
        if not self.is_distributed or not values:
            return values
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return values
        names = list(values)
        stacked = torch.stack([torch.as_tensor(values[name], dtype=torch.float32) for name in names])
        dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
        stacked /= self.world_size
        return dict(zip(names, stacked.unbind(), strict=True))


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"the environment variable {name}={text!r} is not a whole number") from None


def from_environment(environ: Mapping[str, str] | None = None) -> Context:
    """The context the launcher described (os.environ unless given), checked: a rank outside the
    world is a broken launch, named in one line."""
    environ = os.environ if environ is None else environ
    rank = _integer(environ, "RANK", 0)
    world_size = _integer(environ, "WORLD_SIZE", 1)
    local_rank = _integer(environ, "LOCAL_RANK", rank)
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise UserError(
            f"RANK={rank} WORLD_SIZE={world_size} LOCAL_RANK={local_rank} do not describe a launch "
            "(need 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0)"
        )
    return Context(rank, world_size, local_rank)


def current() -> Context:
    """This process's context, read from the environment (cheap: read again on every call, so a
    test that sets the variables sees them)."""
    return from_environment()


def launch_key(environ: Mapping[str, str] | None = None) -> str:
    """A name every process of one launch computes alike, and the next launch does not: torchrun's
    rendezvous id when one was given, SLURM's job and step, else the local elastic agent (the
    parent process every rank of a single-machine torchrun shares) at its master address."""
    environ = os.environ if environ is None else environ
    run_id = environ.get("TORCHELASTIC_RUN_ID", "")
    if run_id and run_id != "none":  # torchrun's default rendezvous id is the literal "none"
        return f"run-{run_id}"
    if environ.get("SLURM_JOB_ID"):
        return f"slurm-{environ['SLURM_JOB_ID']}-{environ.get('SLURM_STEP_ID', '0')}"
    address = environ.get("MASTER_ADDR", "local")
    port = environ.get("MASTER_PORT", "0")
    return f"{address}-{port}-{os.getppid()}"
