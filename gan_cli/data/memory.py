"""Data sets held once on the training device and batched by random index.

`next()` draws indices with the global torch RNG on the device: seeding torch makes runs
reproducible, saving/restoring the RNG state resumes a run exactly, and nothing waits on the host.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from gan_cli.data.batches import images_to_float, sample_indices


def physical_memory_bytes() -> int | None:
    """This machine's RAM, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def fits_in_memory(nbytes: int) -> bool:
    total = physical_memory_bytes()
    return total is None or nbytes <= total


class InMemoryImages:
    kind = "image"

    def __init__(
        self,
        images_u8: torch.Tensor,
        labels: torch.Tensor | None,
        n_classes: int,
        device: torch.device,
        batch_size: int,
        subset: Any = None,
    ) -> None:
        """subset: the gan_cli.data.subsets.Subset these images are (None: the whole set)."""
        if images_u8.dtype != torch.uint8 or images_u8.dim() != 4:
            got = f"{images_u8.dtype} {tuple(images_u8.shape)}"
            raise ValueError(f"want uint8 (N, C, H, W) images, got {got}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.images = images_u8.to(self.device).contiguous()
        self.labels = labels.to(self.device, torch.int64) if n_classes > 0 and labels is not None else None
        self.n_classes = n_classes if self.labels is not None else 0
        self.num_examples = int(self.images.shape[0])
        self.shape = tuple(int(s) for s in self.images.shape[1:])
        self.subset = subset

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = torch.randint(0, self.num_examples, (self.batch_size,), device=self.device)
        x = images_to_float(self.images[index])
        y = self.labels[index] if self.labels is not None else None
        return x, y

    def real_sample(self, n: int) -> torch.Tensor:
        index = sample_indices(self.num_examples, n).to(self.device)
        return images_to_float(self.images[index])


class InMemoryPoints:
    """2D points with the mixture they were drawn from (modes, std) for mode-coverage metrics."""

    kind = "points"
    n_classes = 0

    def __init__(
        self,
        points: torch.Tensor,
        modes: torch.Tensor,
        mode_std: float,
        device: torch.device,
        batch_size: int,
    ) -> None:
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.points = points.to(self.device, torch.float32).contiguous()
        self.modes = modes.to("cpu", torch.float32)
        self.mode_std = float(mode_std)
        self.num_examples = int(self.points.shape[0])
        self.shape = tuple(int(s) for s in self.points.shape[1:])

    def next(self) -> tuple[torch.Tensor, None]:
        index = torch.randint(0, self.num_examples, (self.batch_size,), device=self.device)
        return self.points[index], None

    def real_sample(self, n: int) -> torch.Tensor:
        return self.points[sample_indices(self.num_examples, n).to(self.device)]
