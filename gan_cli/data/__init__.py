"""Data sets -> random batches of images in [-1, 1] (or 2D points) and labels on the training device.

    batches = build(cfg.data, device, batch_size)
    x, y = batches.next()

Each data set module registers its builder under the `data.name` it answers to.
"""

from __future__ import annotations

from typing import Any

import torch

# Imported for their @register side effect: each fills the registry with its data sets.
from gan_cli.data import folder, torchvision_sets, toy2d  # noqa: F401
from gan_cli.data.batches import Batches
from gan_cli.data.config_fields import read_field
from gan_cli.data.registry import available, lookup, register
from gan_cli.errors import UserError

__all__ = ["Batches", "available", "build", "register"]


def build(cfg: Any, device: torch.device | str, batch_size: int) -> Batches:
    """The data set `cfg.name`, set up by the rest of `cfg`, giving `batch_size` examples on `device`."""
    builder = lookup(read_field(cfg, "name"))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"batch size {batch_size!r} is out of range; use an integer >= 1")
    return builder(cfg, torch.device(device), batch_size)
