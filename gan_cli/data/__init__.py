"""Data sets -> random batches of images in [-1, 1] (or 2D points) and labels on the training device.

    batches = build(cfg.data, device, batch_size)
    x, y = batches.next()

A data set is one module here (its schema, ranges, kind, shape and builder, registered in
gan_cli.registry.DATA) and one YAML file under configs/data/. Every module of this package but
the helpers below is imported, so a new file registers itself; none imports torch at its top.
"""

from __future__ import annotations

from typing import Any

from gan_cli.data.batches import Batches
from gan_cli.data.config_fields import read_field
from gan_cli.errors import UserError
from gan_cli.registry import DATA, import_modules

# Modules of this package that are not data sets: readers, stores and facts shared by them.
HELPERS = frozenset(
    {"batches", "config_fields", "image_files", "kinds", "memory", "shapes", "streaming", "subsets"}
)

import_modules(__name__, HELPERS)

register = DATA.register

__all__ = ["Batches", "available", "build", "register"]


def available() -> list[str]:
    """Registered data set names, sorted, for help texts and error messages."""
    return DATA.names()


def build(cfg: Any, device: Any, batch_size: int) -> Batches:
    """The data set `cfg.name`, set up by the rest of `cfg`, giving `batch_size` examples on `device`."""
    import torch

    builder = DATA.get(read_field(cfg, "name")).builder
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"batch size {batch_size!r} is out of range; use an integer >= 1")
    return builder(cfg, torch.device(device), batch_size)
