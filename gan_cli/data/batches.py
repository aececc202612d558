"""What every data source hands the trainer: random batches on the training device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the functions import torch: `import gan_cli.data` stays light
    import torch


class Batches(Protocol):
    """Common surface of in-memory and streaming sources.

    `next()` returns `(x, y)`: x float32 on the device with shape (batch_size, *shape), images in
    [-1, 1]; y int64 class labels on the device, or None when the set has no classes.
    `real_sample(n)` returns n real examples scaled like `next()` without touching the global RNG.
    """

    shape: tuple[int, ...]
    kind: str  # "image" or "points"
    n_classes: int
    num_examples: int

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def real_sample(self, n: int) -> torch.Tensor: ...


def images_to_float(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [-1, 1]; 0 and 255 land exactly on -1 and 1."""
    import torch

    return images_u8.to(torch.float32).div_(127.5).sub_(1.0)


def sample_indices(num_examples: int, n: int) -> torch.Tensor:
    """Indices of a fixed real sample: distinct while n fits, drawn from a private generator.

    A private generator keeps plots and metrics from shifting the training RNG stream, so a run
    that evaluates and one that does not still draw the same batches.
    """
    import torch

    generator = torch.Generator().manual_seed(0)
    if n <= num_examples:
        return torch.randperm(num_examples, generator=generator)[:n]
    return torch.randint(0, num_examples, (n,), generator=generator)
