"""The generator over batches of latents, through the generator contract
(gan_cli.models.contract.generate), so anything that maps a latent to a sample works.

Matrix kernels on CPU and GPU round a row differently depending on how many rows the batch has,
so the generator always runs on slices of exactly FORWARD_ROWS latents aligned to multiples of
FORWARD_ROWS (the last one padded); batch_size only sets how many samples are moved to the
device and written per step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gan_cli.sampling.latents import FORWARD_ROWS, class_labels, interpolation_latents, step_size

if TYPE_CHECKING:
    import torch
    from torch import nn


def forward(
    generator: nn.Module, z: torch.Tensor, device: Any, first: int = 0, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """G(z) as float32 on the CPU, run on device in slices of exactly FORWARD_ROWS rows.

    z must start on a slice boundary (sample index a multiple of FORWARD_ROWS): then every
    sample is computed by the same kernel at the same position, whatever the batch around it.
    first: the index of z's first sample (the class labels of a conditional G follow it).
    labels: int64 (rows,) labels for a conditional G (None: class_labels, every class in turn);
    ignored by a G that takes none.
    """
    import torch

    from gan_cli.models import contract

    rows = z.shape[0]
    pad = -rows % FORWARD_ROWS
    if pad:
        z = torch.cat([z, z.new_zeros(pad, *z.shape[1:])])
    z = z.to(device)
    if not contract.takes_labels(generator):
        labels = None
    elif labels is None:
        labels = class_labels(generator, first, z.shape[0])
    elif pad:
        labels = torch.cat([labels.to(torch.int64), labels.new_zeros(pad, dtype=torch.int64)])
    parts = [None] * (z.shape[0] // FORWARD_ROWS) if labels is None else labels.to(device).split(FORWARD_ROWS)
    cudnn = torch.backends.cudnn
    # Some cuDNN algorithms for transposed convolutions add with atomics: the last bits of a
    # pixel would change from run to run.
    deterministic = cudnn.flags(
        enabled=cudnn.enabled, benchmark=False, deterministic=True, allow_tf32=cudnn.allow_tf32
    )
    with deterministic, torch.no_grad():  # not inference_mode: callers clamp the outputs in place
        out = torch.cat(
            [
                contract.generate(generator, part, label)
                for part, label in zip(z.split(FORWARD_ROWS), parts, strict=True)
            ]
        )
    return out[:rows].float().cpu()


def generate(
    generator: nn.Module,
    batches: Iterable[torch.Tensor],
    device: Any,
    n_batches: int,
    labels: torch.Tensor | None = None,
) -> Iterator[torch.Tensor]:
    """G over the latent batches, one output batch at a time (a progress bar on a terminal when
    there are several; on stderr, so stdout keeps only the list of files written).
    labels: int64, one per latent of all the batches together, for a conditional G (None: every
    class in turn)."""
    from gan_cli.outputs.progress import Bar

    bar = Bar(n_batches, "sampling", transient=True) if n_batches > 1 else None
    first = 0
    try:
        for z in batches:
            part = None if labels is None else labels[first : first + z.shape[0]]
            yield forward(generator, z, device, first, part)
            first += z.shape[0]
            if bar is not None:
                bar.update(advance=1)
    finally:
        if bar is not None:
            bar.close()


def interpolate(
    generator: nn.Module,
    seed: int,
    rows: int,
    steps: int,
    batch_size: int,
    device: Any,
    classes: Sequence[int] | None = None,
):
    """G along the walks of interpolation_latents: (rows, steps, *sample shape), clamped to [-1, 1].
    classes: for a conditional G, walk r keeps the label classes[r mod len(classes)] all along
    (None: the first GRID_CLASSES classes in turn, gan_cli.sampling.labels)."""
    import torch

    from gan_cli.models import contract
    from gan_cli.sampling import labels as class_request

    walks = interpolation_latents(seed, rows, steps, generator)
    z = walks.reshape(rows * steps, *walks.shape[2:])
    labels = None
    if contract.takes_labels(generator):
        if classes is None:
            classes = class_request.classes_for(class_request.ClassRequest(), generator, rows=True)
        labels = class_request.walk_labels(classes, rows, steps)
    batches = z.split(step_size(batch_size))
    images = torch.cat(list(generate(generator, batches, device, len(batches), labels))).clamp_(-1, 1)
    return images.reshape(rows, steps, *images.shape[1:])
