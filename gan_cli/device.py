"""The training device and the seeds: the two pieces of global state a run sets up."""

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
    """Resolve `auto`: everything off on CPU (plain fp32 is fastest there for these nets); on CUDA
    bf16 autocast where supported, channels_last, cuDNN autotuning. torch.compile stays opt-in:
    it costs a minute of compiling at start, which short runs never earn back."""
    precision = str(trainer_cfg.get("precision", "auto")).lower()
    compile_mode = str(trainer_cfg.get("compile", "false")).lower()
    channels_last = str(trainer_cfg.get("channels_last", "auto")).lower()
    cuda = device.type == "cuda"
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "32"
    if precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise UserError(
            f"trainer.precision=bf16: {torch.cuda.get_device_name(device)} cannot do bf16; use 16-mixed or 32"
        )
    if precision != "32" and device.type == "mps":
        raise UserError(
            "trainer.precision: mixed precision is not supported on mps here; use trainer.precision=32"
        )
    if cuda:
        torch.backends.cudnn.benchmark = True
    resolved_channels_last = cuda if channels_last == "auto" else channels_last == "true"
    return SpeedSwitches(precision, compile_mode, resolved_channels_last)
