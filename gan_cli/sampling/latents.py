"""The latents `gan sample` and `gan eval` feed a generator: one stream per seed, drawn through
the generator's own latent sampler (gan_cli.models.contract.sample_latent).

Latent i depends only on (seed, i, the latent distribution), whatever n or batch_size is: torch's
random draws do not split (two draws of 5 rows differ from one draw of 10), so whole chunks of
NOISE_CHUNK latents are drawn, in order, and sliced. The generator then runs on slices of exactly
FORWARD_ROWS latents (generation.py); NOISE_CHUNK is a multiple of it so chunks never shift them.

Wherever a generator is asked for below, a latent size (an int) also works: the standard normal
(n, size), which is what every round-1 generator draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

FORWARD_ROWS = 64
NOISE_CHUNK = 16 * FORWARD_ROWS  # a multiple, so chunks never shift the forward slices

# The trainer's fixed noise (the grids in samples/) and the evaluation's latents come from torch's
# stream `seed`; `gan sample seed=S` drawing from stream S too would make its "new" samples the
# very images of the run's last grid. So it draws from a stream mixed from (S, a tag): never S
# itself, and still the same for the same S. Not S + 2^32: torch's CPU generator keeps only the
# low 32 bits of a seed. numpy's SeedSequence is specified to give the same state on every version.
SAMPLE_STREAM_TAG = 0x534D504C  # "SMPL"


def sample_seed(seed: int) -> int:
    import numpy as np

    mixed = int(np.random.SeedSequence([int(seed), SAMPLE_STREAM_TAG]).generate_state(1)[0])
    return mixed if mixed != seed else (mixed + 1) % 2**32


def _latent_source(generator: Any) -> Any:
    """A generator as it is, or a latent size as a stand-in with the contract's default sampler."""
    return SimpleNamespace(z_dim=generator) if isinstance(generator, int) else generator


def latent_batches(seed: int, n: int, generator: Any, batch_size: int) -> Iterator[torch.Tensor]:
    """n latents on the CPU, handed out batch_size at a time; latent i is the same for any n and
    batch_size because whole chunks of NOISE_CHUNK latents are drawn and sliced."""
    import torch

    from gan_cli.models import contract

    source = _latent_source(generator)
    rng = torch.Generator().manual_seed(seed)
    buffer = None
    handed = 0
    while handed < n:
        want = min(batch_size, n - handed)
        held = 0 if buffer is None else buffer.shape[0]
        if held < want:
            chunks = math.ceil((want - held) / NOISE_CHUNK)
            fresh = [contract.sample_latent(source, NOISE_CHUNK, rng) for _ in range(chunks)]
            buffer = torch.cat(fresh if buffer is None else [buffer, *fresh])
        yield buffer[:want]
        buffer = buffer[want:]
        handed += want


def step_size(batch_size: int) -> int:
    """batch_size rounded up to whole forward slices, so every step starts on a slice boundary."""
    return math.ceil(batch_size / FORWARD_ROWS) * FORWARD_ROWS


def latents(seed: int, n: int, generator: Any) -> torch.Tensor:
    """All n latents at once: the same values latent_batches hands out."""
    import torch

    return torch.cat(list(latent_batches(seed, n, generator, n)))


def class_labels(generator: Any, first: int, count: int) -> torch.Tensor | None:
    """Labels for samples first .. first+count-1 of a generator that takes them (None otherwise):
    sample i shows class i mod n_classes, so a grid's rows cycle through the classes and an
    evaluation sees every class equally often. No random draw: the latents' stream stays as it is."""
    from gan_cli.models import contract

    if not contract.takes_labels(generator):
        return None
    import torch

    return torch.arange(first, first + count) % int(generator.n_classes)


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents) between rows of z0 and
    z1, (n, d) each -> (n, steps, d). The first and last points are exactly z0 and z1.

    A Gaussian latent has almost all its mass near a sphere; a straight line between two latents
    cuts through the low-density inside, where G has seen no inputs.
    """
    import torch

    a, b = z0.double(), z1.double()
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[None, :, None]
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-12)
    omega = cos.clamp(-1.0, 1.0).acos()[:, None, None]
    sin = omega.sin()
    # Nearly parallel rows: sin(omega) -> 0 and slerp tends to the straight line.
    straight = sin.abs() < 1e-6
    safe = torch.where(straight, torch.ones_like(sin), sin)
    w0 = torch.where(straight, 1.0 - t, ((1.0 - t) * omega).sin() / safe)
    w1 = torch.where(straight, t, (t * omega).sin() / safe)
    path = (w0 * a[:, None, :] + w1 * b[:, None, :]).to(z0.dtype)
    path[:, 0], path[:, -1] = z0, z1
    return path


def interpolation_latents(seed: int, rows: int, steps: int, generator: Any) -> torch.Tensor:
    """(rows, steps, *latent shape): row r walks from latent 2r to latent 2r+1, so a row stays the
    same when more rows are asked for. A latent of several dimensions is walked as one vector."""
    ends = latents(seed, 2 * rows, generator)
    flat = ends.flatten(1)
    walks = slerp(flat[0::2], flat[1::2], steps)
    return walks.reshape(rows, steps, *ends.shape[1:])
