"""The generator contract that `gan sample`, `gan eval` and the trainer rely on: anything that maps
a latent (and an optional class label) to a sample. A GAN's G, a VAE's decoder and later WaveGAN's
G all satisfy it, so sampling and scoring need nothing but a checkpoint.

A generator module has
- `z_dim`: the size of one latent,
- optionally `sample_latent(n, generator=None, device=None)`: its own latent distribution
  (default: standard normal of shape (n, z_dim)),
- optionally `takes_labels = True` and `n_classes`: forward(z, labels) for conditional models
  (default: forward(z)),
- optionally `info_codes`: where InfoGAN's latent codes sit in its latent (a
  gan_cli.models.infogan.CodeLayout; `gan sample vary=cat0` reads it).
The functions below apply the defaults, so a recipe's own small generator needs only `z_dim`.
"""

from __future__ import annotations

from typing import Any


def latent_size(generator: Any) -> int:
    return int(generator.z_dim)


def takes_labels(generator: Any) -> bool:
    return bool(getattr(generator, "takes_labels", False))


def n_classes(generator: Any) -> int:
    """The classes a conditional generator takes (labels 0 .. n_classes-1); 0 for one that takes none."""
    return int(getattr(generator, "n_classes", 0) or 0) if takes_labels(generator) else 0


def latent_codes(generator: Any) -> Any:
    """The InfoGAN code layout of a generator (gan_cli.models.infogan.CodeLayout), None for one
    without codes."""
    return getattr(generator, "info_codes", None)


def sample_latent(generator: Any, n: int, rng: Any = None, device: Any = None):
    """n latents from the generator's own distribution, drawn from `rng` (a torch.Generator) when
    given. The default is the standard normal (n, z_dim): byte-identical to what round 1 drew."""
    own = getattr(generator, "sample_latent", None)
    if own is not None:
        return own(n, generator=rng, device=device)
    import torch

    z = torch.randn(n, latent_size(generator), generator=rng)
    return z if device is None else z.to(device)


def generate(generator: Any, z: Any, labels: Any = None):
    """Samples for latents z (and labels, for a generator that takes them)."""
    if takes_labels(generator):
        return generator(z, labels)
    return generator(z)


# Class-row grids show at most this many classes, one row each; `gan sample class=` reaches the rest.
GRID_CLASSES = 10


def class_rows(n: int, n_classes: int, classes: Any = None) -> tuple[list[int], int]:
    """The labels of a grid with one row per class, and its images per row: `classes` (default
    the first GRID_CLASSES classes), each repeated n // len(classes) times (at least once), so the
    grid holds about n images. The trainer's sample grids and `gan sample`'s default grid use it."""
    shown = list(classes) if classes is not None else list(range(min(n_classes, GRID_CLASSES)))
    columns = per_row(n, len(shown))
    return [label for label in shown for _ in range(columns)], columns


def per_row(n: int, rows: int) -> int:
    """Images in each row of a class-row grid of about n images: n // rows, at least 1."""
    return max(1, n // rows)
