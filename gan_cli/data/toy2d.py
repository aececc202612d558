"""Synthetic 2D Gaussian mixtures (ring8, grid25): the classic mode-collapse probes.

The points are drawn once from a generator seeded 0, so the data set itself never changes
between runs; training randomness comes only from which points a batch picks.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_cli.data.config_fields import DataConfig, read_field, schema_default
from gan_cli.errors import UserError
from gan_cli.registry import DATA, Range

if TYPE_CHECKING:  # torch is imported by the builders: registering costs nothing at startup
    import torch

    from gan_cli.data.memory import InMemoryPoints


@dataclass
class Ring8Data(DataConfig):
    name: str = "ring8"
    n_points: int = 100_000
    std: float = 0.01
    radius: float = 1.0


@dataclass
class Grid25Data(DataConfig):
    name: str = "grid25"
    n_points: int = 100_000
    std: float = 0.05


MIXTURE_RANGES = {"n_points": Range(1, 10**8), "std": Range(0.0, 100.0, low_open=True)}

# Peak bytes per point while drawing: int64 component, float32 noise, the scaled noise and the sum.
_BYTES_PER_POINT = 40


def mixture_points(modes: torch.Tensor, std: float, n_points: int) -> torch.Tensor:
    import torch

    generator = torch.Generator().manual_seed(0)
    component = torch.randint(0, modes.shape[0], (n_points,), generator=generator)
    noise = torch.randn(n_points, 2, generator=generator)
    return modes[component] + std * noise


def ring_modes(count: int, radius: float) -> torch.Tensor:
    import torch

    angles = torch.arange(count, dtype=torch.float64) * (2 * math.pi / count)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).to(torch.float32)


def grid_modes(coordinates: tuple[float, ...]) -> torch.Tensor:
    import torch

    return torch.tensor(list(itertools.product(coordinates, repeat=2)), dtype=torch.float32)


def _mixture_settings(cfg, schema: type) -> tuple[int, float]:
    from gan_cli.data.memory import fits_in_memory, physical_memory_bytes

    n_points = int(read_field(cfg, "n_points", schema_default(schema, "n_points")))
    std = float(read_field(cfg, "std", schema_default(schema, "std")))
    if n_points < 1:
        raise UserError(f"data.n_points={n_points} is out of range; use an integer >= 1")
    if not std >= 0:  # also rejects NaN
        raise UserError(f"data.std={std} is out of range; use a number >= 0")
    # Configs inside checkpoints reach here unchecked: refuse before torch tries to allocate.
    if not fits_in_memory(n_points * _BYTES_PER_POINT):
        raise UserError(
            f"data.n_points={n_points:,} needs about {n_points * _BYTES_PER_POINT / 2**30:,.0f} GiB, more"
            f" than this machine's {physical_memory_bytes() / 2**30:,.0f} GiB of memory; use fewer points"
        )
    return n_points, std


@DATA.register(
    "ring8",
    schema=Ring8Data,
    summary="8 Gaussians on a circle: the 2D mode-collapse test",
    ranges={**MIXTURE_RANGES, "radius": Range(0.0, 1000.0, low_open=True)},
    kind="points",
    shape=(2,),
)
def build_ring8(cfg, device: torch.device, batch_size: int) -> InMemoryPoints:
    from gan_cli.data.memory import InMemoryPoints

    n_points, std = _mixture_settings(cfg, Ring8Data)
    radius = float(read_field(cfg, "radius", Ring8Data.radius))
    if not radius > 0:
        raise UserError(f"data.radius={radius} is out of range; use a number > 0")
    modes = ring_modes(8, radius)
    return InMemoryPoints(mixture_points(modes, std, n_points), modes, std, device, batch_size)


@DATA.register(
    "grid25",
    schema=Grid25Data,
    summary="25 Gaussians on a 5x5 grid: the harder 2D mode-collapse test",
    ranges=MIXTURE_RANGES,
    kind="points",
    shape=(2,),
)
def build_grid25(cfg, device: torch.device, batch_size: int) -> InMemoryPoints:
    from gan_cli.data.memory import InMemoryPoints

    n_points, std = _mixture_settings(cfg, Grid25Data)
    modes = grid_modes((-4.0, -2.0, 0.0, 2.0, 4.0))
    return InMemoryPoints(mixture_points(modes, std, n_points), modes, std, device, batch_size)
