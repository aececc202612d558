"""The latents of `gan sample vary=...` grids: one part of the latent varies, the rest stays fixed.

- `vary=cat<i>` (InfoGAN, gan_cli.models.infogan): one row per category of categorical code i, in
  order; each column is one latent drawn from the generator's own distribution, with code i set to
  the row's category. Down a column only that code changes.
- `vary=cont<i>` (InfoGAN): each row one latent drawn as above; across the columns continuous code
  i sweeps -2..2 (`steps` values, ends included; training drew it from [-1, 1], so the outer
  columns extrapolate, as in Chen et al. 2016, Fig. 2 and 5).
- `vary=z<i>`, any generator: the same sweep of noise number i (N(0, 1) numbers; for InfoGAN the
  noise part of the latent, before the codes).

A grid is rows x columns latents in row-major order (torchvision's make_grid with nrow=columns):
rows = the categories (cat) or max(1, n // steps) (cont, z); columns = max(1, n // categories)
(cat) or steps (cont, z). A conditional generator's labels are the caller's (one per latent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    from torch import Tensor

FORMS = "cat<i>, cont<i> or z<i> (e.g. vary=cat0)"
_SPEC = re.compile(r"^(cat|cont|z)(\d+)$")


@dataclass
class VaryGrid:
    latents: Tensor  # (rows * columns, z_dim), row-major
    rows: int
    columns: int
    values: list[float]  # what the varied part takes: per row (cat: categories), per column (cont, z)
    describe: str  # "rows: categories of cat0" ...


def parse(spec: str) -> tuple[str, int]:
    """ "cat0" -> ("cat", 0); one line naming the forms otherwise."""
    found = _SPEC.match(str(spec).strip())
    if not found:
        raise UserError(f"vary={spec} is not one of {FORMS}")
    return found.group(1), int(found.group(2))


def sweep_values(steps: int, sweep: float | None = None) -> list[float]:
    """`steps` evenly spaced values from -sweep to sweep (ends included; one step: 0)."""
    from gan_cli.models.infogan import SWEEP

    sweep = SWEEP if sweep is None else sweep
    if steps == 1:
        return [0.0]
    return [-sweep + 2 * sweep * i / (steps - 1) for i in range(steps)]


def _codes_for(generator: Any, spec: str, what: str, count_of) -> Any:
    from gan_cli.models import contract

    codes = contract.latent_codes(generator)
    if codes is None or count_of(codes) == 0:
        raise UserError(
            f"vary={spec} needs an InfoGAN checkpoint (recipe=infogan) with {what} codes; this generator "
            "has none: vary=z<i> sweeps a noise number of any generator"
        )
    return codes


def grid(generator: Any, spec: str, n: int = 64, steps: int = 8, seed: int = 0) -> VaryGrid:
    """The latents of the vary=`spec` grid of about n images (the module's docstring); the drawn
    latents come from stream `seed` of gan_cli.sampling.latents (the caller mixes a user's seed)."""
    import torch

    from gan_cli.models import contract
    from gan_cli.models.contract import per_row
    from gan_cli.sampling.latents import latents

    kind, index = parse(spec)
    if steps < 1:
        raise UserError(f"steps={steps} is out of range: an integer >= 1 (the columns of a vary={spec} grid)")
    if kind == "cat":
        codes = _codes_for(generator, spec, "categorical", lambda c: len(c.categorical))
        if index >= len(codes.categorical):
            raise UserError(f"vary={spec}: the generator has {_listed('cat', len(codes.categorical))}")
        categories = codes.categorical[index]
        columns = per_row(n, categories)
        base = latents(seed, columns, generator)
        block = codes.categorical_slices()[index]
        rows = []
        for category in range(categories):
            z = base.clone()
            z[:, block] = 0
            z[:, block.start + category] = 1
            rows.append(z)
        return VaryGrid(
            torch.cat(rows),
            categories,
            columns,
            list(map(float, range(categories))),
            f"rows: categories of {spec}",
        )
    if kind == "cont":
        codes = _codes_for(generator, spec, "continuous", lambda c: c.continuous)
        if index >= codes.continuous:
            raise UserError(f"vary={spec}: the generator has {_listed('cont', codes.continuous)}")
        position = codes.continuous_slice().start + index
    else:
        codes = contract.latent_codes(generator)
        size = codes.noise if codes is not None else contract.latent_size(generator)
        if index >= size:
            raise UserError(f"vary={spec}: the generator's noise has {size} numbers (z0 .. z{size - 1})")
        position = index
    values = sweep_values(steps)
    count = per_row(n, steps)
    base = latents(seed, count, generator)
    z = base.repeat_interleave(steps, dim=0)
    z[:, position] = torch.tensor(values, dtype=z.dtype).repeat(count)
    return VaryGrid(z, count, steps, values, f"columns: {spec} from {values[0]:g} to {values[-1]:g}")


def _listed(prefix: str, count: int) -> str:
    names = ", ".join(f"{prefix}{i}" for i in range(count))
    kind = "categorical" if prefix == "cat" else "continuous"
    return f"{count} {kind} code{'s' if count != 1 else ''} ({names})"


def render(
    generator: Any,
    spec: str,
    n: int,
    steps: int,
    seed: int,
    device: Any,
    batch_size: int,
    label: int | None = None,
) -> tuple[Tensor, VaryGrid]:
    """The grid's images (rows * columns, *shape), float32 on the CPU in G's range, row-major, and the
    grid: what `gan sample vary=` writes with write_grid(images, grid.columns, path). label: the
    class of every image, for a conditional generator (None otherwise). batch_size: a multiple of
    the forward slices (sampling.latents.step_size)."""
    import math

    import torch

    from gan_cli.sampling.generation import generate

    found = grid(generator, spec, n, steps, seed)
    count = found.latents.shape[0]
    labels = None if label is None else torch.full((count,), int(label), dtype=torch.int64)
    images = generate(
        generator, found.latents.split(batch_size), device, math.ceil(count / batch_size), labels
    )
    return torch.cat(list(images)), found


def write(
    cfg: Any, generator: Any, kind: Any, paths: dict, device: Any, batch_size: int, source: Any = None
) -> list:
    """`gan sample vary=...`: the grid written to paths["grid"] (sampling.destinations.plan_outputs),
    after the checks that are vary's own. cfg: the sample config (vary, n, steps, seed, format,
    interpolate, nrow, class). A conditional generator draws class=K in every image. source: what
    the kind's view reads beside the samples (the checkpoint's data config). Returns the files
    written, as sampling.command.run does."""
    import logging

    from gan_cli.models import contract
    from gan_cli.sampling import labels as classes
    from gan_cli.sampling.latents import sample_seed
    from gan_cli.sampling.writers import write_view

    spec = cfg.vary
    if cfg.interpolate or "grid" not in paths or not kind.interpolates:
        raise UserError(
            f"vary={spec} draws one image grid: use it with format=grid, without interpolate=true"
        )
    if cfg.nrow is not None:
        raise UserError(
            f"nrow={cfg.nrow} does not apply to a vary={spec} grid (vary sets its columns): drop nrow="
        )
    request = classes.request_of(cfg)
    label = None
    if contract.takes_labels(generator):
        if request.single is None:
            raise UserError(f"vary={spec} on a conditional checkpoint draws one class: add class=K")
        label = request.single
    elif request.given:
        raise UserError(f"class= and classes= need a conditional checkpoint; vary={spec} takes neither here")
    images, found = render(
        generator, spec, cfg.n, cfg.steps, sample_seed(cfg.seed), device, batch_size, label
    )
    path = paths["grid"]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_view(kind.view(kind.clip(images), source, nrow=found.columns), path)
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror or error})") from None
    logging.getLogger("gan_cli.commands.sample").info(
        "vary=%s: %d rows x %d columns (%s)", spec, found.rows, found.columns, found.describe
    )
    return [path]
