"""The training device and the seeds: the two pieces of global state a run sets up."""

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from gan_cli.errors import UserError


def resolve(name: str) -> torch.device:
    """auto picks cuda > mps > cpu; an explicit device that is absent is a user error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(
                f"device={name}: CUDA is not available on this machine; use device=cpu or device=auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UserError(
                f"device={name}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"device={name}: MPS is not available on this machine; use device=cpu or device=auto")
    return device


def fit_cpu_threads(target: torch.device, one_thread: bool) -> None:
    """One torch thread on the CPU for a model family that says its ops are too small to share
    (the registry fact one_cpu_thread: mlp), unless OMP_NUM_THREADS says otherwise. With sleeping
    OpenMP waits (OMP_WAIT_POLICY=PASSIVE, gan's default, README "A shared machine") every
    parallel region wakes the other thread, which costs more than an MLP's matmul saves: measured
    2026-12-04 on 2 cores, the default data=ring8 run 100 s with 2 threads and 46 s with 1, the
    default data=fashion_mnist run 96 s and 77 s; dcgan's convolutions still gain from 2 threads
    (871 against 621 img/s, benchmarks/throughput.py with OMP_WAIT_POLICY=PASSIVE)."""
    if target.type == "cpu" and one_thread and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class SpeedSwitches:
    """How the training step runs on its device (trainer.precision / compile / channels_last)."""

    precision: str = "32"  # 32 | bf16 | 16-mixed
    compile: str = "false"  # false | true | reduce-overhead
    channels_last: bool = False

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "16-mixed": torch.float16}.get(self.precision)

    def describe(self) -> str:
        parts = [f"precision {self.precision}"]
        if self.compile != "false":
            parts.append(f"compile {self.compile}")
        if self.channels_last:
            parts.append("channels_last")
        return ", ".join(parts)


def speed_switches(trainer_cfg, device: torch.device) -> SpeedSwitches:
    """Resolve `auto` from measurements (README, "Speed"): for the model sizes this tool ships,
    plain fp32 eager is the fastest on CPU and on an H200 alike (bf16 autocast and torch.compile
    add more per-kernel overhead than they save on these small layers), so auto means fp32 and no
    channels_last; CUDA also gets cuDNN autotuning and fused Adam. Larger nets can opt in."""
    precision = str(trainer_cfg.get("precision", "auto")).lower()
    compile_mode = str(trainer_cfg.get("compile", "false")).lower()
    channels_last = str(trainer_cfg.get("channels_last", "auto")).lower()
    cuda = device.type == "cuda"
    if precision == "auto":
        precision = "32"
    if precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise UserError(
            f"trainer.precision=bf16: {name} cannot do bf16; use trainer.precision=16-mixed or 32"
        )
    if precision != "32" and device.type == "mps":
        raise UserError(
            "trainer.precision: mixed precision is not supported on mps here; use trainer.precision=32"
        )
    if cuda:
        torch.backends.cudnn.benchmark = True
    return SpeedSwitches(precision, compile_mode, channels_last == "true")
