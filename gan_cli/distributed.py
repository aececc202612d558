"""Which process of a launch this is: rank, world size, local rank and its device.

    context = distributed.current().on_device(device.resolve(cfg.device))
    if context.is_main:
        ...                       # only rank 0 writes files and prints
    stats = context.mean(stats)   # at log intervals: the same numbers on every rank

torchrun and submitit's `helpers.TorchDistributedEnvironment` tell each process who it is through
RANK, WORLD_SIZE and LOCAL_RANK; a plain `gan train` has none of them and gets rank 0 of 1, for
which everything here changes nothing. With several, `start` joins the process group (nccl on CUDA,
gloo on CPU) and a gloo group for the host-side agreements (stop after the same step, skip the same
update, rank 0's evaluation results), so those never wait on a GPU. Gradients are averaged by
`average_gradients` after each backward, the way stylegan2-ada-pytorch's training loop does it
(one flat all_reduce per update), rather than by wrapping networks in DistributedDataParallel:
DDP's reducer hooks do not cover a step that runs D's backward twice (R1, the gradient penalty's
create_graph), G's loss flowing through a D whose gradients are thrown away, or frozen parameters
and heads some steps leave unused; a plain all_reduce after backward does, for every recipe alike.
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
# SLURM's own names for the same three facts (srun sets them for every task): read when the torch
# names are missing, so `srun python -m gan_cli train` and submitit's tasks need no wrapper.
SLURM_VARIABLES = ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID")
# submitit's local executor (hydra/launcher=submitit_local) names them so for its tasks.
SUBMITIT_LOCAL_VARIABLES = ("SUBMITIT_LOCAL_GLOBALID", "SUBMITIT_LOCAL_NTASKS", "SUBMITIT_LOCAL_LOCALID")
# How long a collective may wait for another rank: rank 0's evaluation (the others wait for its
# results) and checkpoint writing are the longest; a rank that dies is seen at once by the others
# (its sockets close) and torchrun stops the rest, so this bounds only a rank that hangs.
COLLECTIVE_TIMEOUT_S = 1800


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
    names = RANK_VARIABLES
    if "WORLD_SIZE" not in environ:
        for other in (SLURM_VARIABLES, SUBMITIT_LOCAL_VARIABLES):
            if int(environ.get(other[1], "1") or 1) > 1:
                names = other
                break
    rank = _integer(environ, names[0], 0)
    world_size = _integer(environ, names[1], 1)
    local_rank = _integer(environ, names[2], rank)
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
    if environ.get("SUBMITIT_LOCAL_JOB_ID"):
        return f"submitit-{environ['SUBMITIT_LOCAL_JOB_ID']}"
    address = environ.get("MASTER_ADDR", "local")
    port = environ.get("MASTER_PORT", "0")
    return f"{address}-{port}-{os.getppid()}{_attempt(environ)}"


def attempt(environ: Mapping[str, str] | None = None) -> int:
    """How many times this launch was restarted: torchrun's --max-restarts, SLURM's requeue."""
    environ = os.environ if environ is None else environ
    for name in ("TORCHELASTIC_RESTART_COUNT", "SLURM_RESTART_COUNT"):
        text = environ.get(name, "")
        if text.isdigit() and int(text) > 0:
            return int(text)
    return 0


def _attempt(environ: Mapping[str, str]) -> str:
    """A restarted launch keeps its rendezvous id (or SLURM job id): each attempt gets its own key,
    so a rank never reads the folder an earlier attempt published."""
    count = attempt(environ)
    return f"-attempt{count}" if count else ""


def earlier_attempt_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The launch keys of this launch's earlier attempts, newest first (none on a first attempt)."""
    environ = os.environ if environ is None else environ
    count = attempt(environ)
    if not count:
        return []
    base = launch_key(
        {k: v for k, v in environ.items() if k not in ("TORCHELASTIC_RESTART_COUNT", "SLURM_RESTART_COUNT")}
    )
    return [f"{base}-attempt{k}" if k else base for k in range(count - 1, -1, -1)]


# ---- the process group ---------------------------------------------------------------------------
_control: Any = None  # the gloo group host-side agreements use (the default group itself on CPU)


def backend_for(device: Any) -> str:
    return "nccl" if str(device).startswith("cuda") else "gloo"


def start(context: Context) -> None:
    """Join this launch's process group (once; nothing for one process). The rendezvous address
    comes from the launcher's MASTER_ADDR/MASTER_PORT (torchrun, submitit); SLURM without them:
    the first node of the job's list on a port derived from the job id."""
    global _control
    if not context.is_distributed:
        return
    import datetime

    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    os.environ.setdefault("RANK", str(context.rank))
    os.environ.setdefault("WORLD_SIZE", str(context.world_size))
    os.environ.setdefault("LOCAL_RANK", str(context.local_rank))
    if "MASTER_ADDR" not in os.environ and os.environ.get("SLURM_JOB_NODELIST"):
        os.environ["MASTER_ADDR"] = _first_slurm_node(os.environ["SLURM_JOB_NODELIST"])
        os.environ.setdefault("MASTER_PORT", _port_of(os.environ.get("SLURM_JOB_ID", "0")))
    elif "MASTER_ADDR" not in os.environ and os.environ.get("SUBMITIT_LOCAL_JOB_ID"):
        os.environ["MASTER_ADDR"] = "127.0.0.1"  # submitit_local: every task on this machine
        os.environ.setdefault("MASTER_PORT", _port_of(os.environ["SUBMITIT_LOCAL_JOB_ID"]))
    backend = backend_for(context.device)
    if backend == "nccl":
        torch.cuda.set_device(torch.device(context.device))
    timeout = datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_S)
    dist.init_process_group(backend, timeout=timeout)
    _control = dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else dist.group.WORLD


def _port_of(job_id: str) -> str:
    """A rendezvous port every task of a job derives alike from the job id (no launcher chose one)."""
    digits = "".join(ch for ch in job_id if ch.isdigit()) or "0"
    return str(15000 + int(digits) % 20000)


def _first_slurm_node(nodelist: str) -> str:
    """`node[01-04,07],gpu5` -> `node01`: the first host of a SLURM node list."""
    first = nodelist.split(",")[0]
    if "[" not in first:
        return first
    prefix, rest = first.split("[", 1)
    return prefix + rest.split("-")[0].split(",")[0].rstrip("]")


def stop() -> None:
    """Leave the process group (the end of a run, or its failure), so the launcher sees a clean exit."""
    global _control
    if _control is None:  # never joined (start made the group): nothing to leave, no torch import
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    _control = None


def joined() -> bool:
    return _control is not None


def rank_batch(batch_size: int, context: Context, pack: int = 1) -> int:
    """Each rank's share of trainer.batch_size, the global batch: a run means the same at any world
    size. A batch the ranks cannot share evenly (or whose share PacGAN cannot pack) is refused."""
    if batch_size % context.world_size:
        raise UserError(
            f"trainer.batch_size={batch_size} is the batch of all {context.world_size} processes together "
            f"and does not divide over them; use a multiple of {context.world_size}"
        )
    share = batch_size // context.world_size
    if share % pack:
        raise UserError(
            f"trainer.pack={pack} does not divide each process's {share} of trainer.batch_size={batch_size} "
            f"({context.world_size} processes); use a batch that is a multiple of {pack * context.world_size}"
        )
    return share


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The random stream of one rank from `step` on: distinct per rank (its own real batches and
    noise) and per resume point, the same for every launch of the same run."""
    return (seed * 1_000_003 + rank * 7_919 + step * 104_729) % 2**63


def broadcast_state(modules: Mapping[str, Any]) -> None:
    """Rank 0's weights and buffers on every rank: ranks built alike start alike, and any rank that
    drifted (a BatchNorm's running statistics) is brought back."""
    if not _is_joined():
        return
    import torch.distributed as dist

    for module in modules.values():
        for tensor in module.state_dict().values():  # views of the module's own storage
            dist.broadcast(tensor, src=0)


def average_gradients(parameters: Any, world_size: int) -> None:
    """The mean over ranks of every gradient the backward made, in one flat all_reduce. Ranks run
    the same code, so the same parameters have gradients on each (frozen ones and heads a step
    leaves unused have none anywhere)."""
    import torch
    import torch.distributed as dist

    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size
    offset = 0
    for grad in grads:
        count = grad.numel()
        grad.copy_(flat[offset : offset + count].view_as(grad))
        offset += count


def any_rank(flag: bool) -> bool:
    """Whether `flag` holds on some rank (a non-finite loss): every rank gets the same answer."""
    return highest(1 if flag else 0) > 0


def highest(value: int) -> int:
    """The largest of each rank's `value` (a signal number, 0 for none), agreed on the host through
    the gloo group: every rank gets the same answer at the same point, and no GPU waits for it."""
    if not _is_joined():
        return value
    import torch
    import torch.distributed as dist

    box = torch.tensor([int(value)], dtype=torch.int64)
    dist.all_reduce(box, op=dist.ReduceOp.MAX, group=_control)
    return int(box.item())


def from_main(value: Any) -> Any:
    """Rank 0's `value` (any picklable object) on every rank."""
    if not _is_joined():
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=_control)
    return box[0]


def barrier() -> None:
    if _is_joined():
        import torch.distributed as dist

        dist.barrier(group=_control)


def _is_joined() -> bool:
    if _control is None:
        return False
    import torch.distributed as dist

    return dist.is_initialized()


def lost_peer(error: BaseException) -> bool:
    """Whether `error` is a collective that failed because another rank of the run went away (its
    sockets closed, a timeout): the cause is that rank's, whose launcher names it."""
    if _control is None:
        return False
    import torch.distributed as dist

    text = str(error)
    return isinstance(error, dist.DistError) or (
        isinstance(error, RuntimeError) and any(word in text for word in ("gloo", "NCCL", "Connection"))
    )
