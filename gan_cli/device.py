"""The training device and the seeds: the two pieces of global state a run sets up."""

import random

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
