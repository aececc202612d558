"""`gan sample` as plain Python: a checkpoint in, image files (or 2D points) out.

    paths = run(cfg, run_dir)   # cfg: the sample config (a DictConfig or any attribute object)

The same checkpoint and seed give byte-identical files whatever n or batch_size is (on one
device). Two things would break that: torch.randn does not split (two draws of 5 rows differ
from one draw of 10), and matrix kernels on CPU and GPU round a row differently depending on how
many rows the batch has. So latent i depends only on (seed, i, z_dim), drawn on the CPU in
chunks of a fixed size, and G always runs on slices of exactly FORWARD_ROWS latents aligned to
multiples of FORWARD_ROWS (the last one padded); batch_size only sets how many samples are
moved to the device and written per step.

torch is imported inside the functions: the command's help and config errors stay fast.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger("gan_cli.commands.sample")

CHECKPOINT_NAMES = ("best.pt", "last.pt")  # in order of preference inside a run folder
FORWARD_ROWS = 64
NOISE_CHUNK = 16 * FORWARD_ROWS  # a multiple, so chunks never shift the forward slices
GIF_FRAME_MS = 150
SUFFIX = {"grid": ".png", "scatter": ".png", "gif": ".gif", "npy": ".npy"}


# ---- which checkpoint, and the generator in it -------------------------------------------------------
def resolve_checkpoint(ckpt: str | os.PathLike) -> Path:
    """A .pt file as given; a run folder (or its checkpoints/ folder): its best.pt, else last.pt."""
    path = Path(os.path.expanduser(str(ckpt)))
    if path.is_dir():
        for folder in (path / "checkpoints", path):
            for name in CHECKPOINT_NAMES:
                if (folder / name).is_file():
                    return folder / name
        raise UserError(
            f"ckpt={ckpt}: the folder has no checkpoints/best.pt or checkpoints/last.pt "
            "(give a gan train run folder or a .pt file)"
        )
    if not path.exists():
        raise UserError(f"ckpt={ckpt} does not exist (give a checkpoint .pt file or a gan train run folder)")
    return path


@dataclass
class Loaded:
    path: Path
    generator: nn.Module  # in eval mode, on the device
    shape: tuple[int, ...]
    data: dict[str, Any]  # the data config the generator was trained on
    step: int | None
    weights: str  # "generator" or "ema_generator"

    @property
    def kind(self) -> str:
        return "points" if len(self.shape) == 1 else "image"


def load_generator(path: str | os.PathLike, device: Any = "cpu", use_ema: bool = True) -> Loaded:
    """G rebuilt from the checkpoint's own config, with its weights (the EMA ones when present)."""
    from gan_cli.outputs import checkpoint
    from gan_cli import models
    from gan_cli.data.shapes import data_shape

    path = Path(path)
    payload = checkpoint.load(path, expect=checkpoint.FOR_SAMPLING)
    config = payload["config"]
    weights = "ema_generator" if use_ema and "ema_generator" in payload else "generator"
    if weights not in payload:
        raise UserError(f"{path} holds no generator weights (no '{weights}' entry)")
    state = payload[weights]
    broken = checkpoint.first_nonfinite(state.items())
    if broken:
        raise UserError(
            f"{path}: the '{weights}' tensor {broken} holds NaN or inf; its samples would be NaN "
            "(use an earlier checkpoint of the run)"
        )
    try:
        shape = tuple(payload["shape"]) if "shape" in payload else data_shape(config["data"])
        # The models read their config by attribute; a namespace holds the stored dict as it is.
        generator, _ = models.build(
            SimpleNamespace(**config["model"]), shape, int(payload.get("n_classes") or 0)
        )
    except UserError as error:
        raise UserError(f"{path}: {error}") from None
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as error:  # a crafted model config
        reason = " ".join(str(error).split())[:200]
        raise UserError(f"{path}: its model config cannot build a generator ({reason})") from None
    checkpoint.load_weights(generator, state, path, weights)
    generator.to(device).eval()
    step = payload.get("step")
    return Loaded(path, generator, shape, config["data"], step if isinstance(step, int) else None, weights)


# ---- latents ------------------------------------------------------------------------------------------
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


def latent_batches(seed: int, n: int, z_dim: int, batch_size: int) -> Iterator[torch.Tensor]:
    """n latents from N(0, I) on the CPU, handed out batch_size at a time; latent i is the same
    for any n and batch_size because whole chunks of NOISE_CHUNK rows are drawn and sliced."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    buffer = torch.empty(0, z_dim)
    handed = 0
    while handed < n:
        want = min(batch_size, n - handed)
        if buffer.shape[0] < want:
            chunks = math.ceil((want - buffer.shape[0]) / NOISE_CHUNK)
            fresh = [torch.randn(NOISE_CHUNK, z_dim, generator=generator) for _ in range(chunks)]
            buffer = torch.cat([buffer, *fresh])
        yield buffer[:want]
        buffer = buffer[want:]
        handed += want


def step_size(batch_size: int) -> int:
    """batch_size rounded up to whole forward slices, so every step starts on a slice boundary."""
    return math.ceil(batch_size / FORWARD_ROWS) * FORWARD_ROWS


def latents(seed: int, n: int, z_dim: int) -> torch.Tensor:
    """All n latents at once: the same values latent_batches hands out."""
    import torch

    return torch.cat(list(latent_batches(seed, n, z_dim, n)))


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


def interpolation_latents(seed: int, rows: int, steps: int, z_dim: int) -> torch.Tensor:
    """(rows, steps, z_dim): row r walks from latent 2r to latent 2r+1, so a row stays the same
    when more rows are asked for."""
    ends = latents(seed, 2 * rows, z_dim)
    return slerp(ends[0::2], ends[1::2], steps)


# ---- the generator over batches ---------------------------------------------------------------------
def forward(generator: nn.Module, z: torch.Tensor, device: Any) -> torch.Tensor:
    """G(z) as float32 on the CPU, run on device in slices of exactly FORWARD_ROWS rows.

    z must start on a slice boundary (sample index a multiple of FORWARD_ROWS): then every
    sample is computed by the same kernel at the same position, whatever the batch around it.
    """
    import torch

    rows = z.shape[0]
    pad = -rows % FORWARD_ROWS
    if pad:
        z = torch.cat([z, z.new_zeros(pad, z.shape[1])])
    z = z.to(device)
    cudnn = torch.backends.cudnn
    # Some cuDNN algorithms for transposed convolutions add with atomics: the last bits of a
    # pixel would change from run to run.
    deterministic = cudnn.flags(
        enabled=cudnn.enabled, benchmark=False, deterministic=True, allow_tf32=cudnn.allow_tf32
    )
    with deterministic, torch.no_grad():  # not inference_mode: callers clamp the outputs in place
        out = torch.cat([generator(part) for part in z.split(FORWARD_ROWS)])
    return out[:rows].float().cpu()


def generate(
    generator: nn.Module, batches: Iterable[torch.Tensor], device: Any, n_batches: int
) -> Iterator[torch.Tensor]:
    """G over the latent batches, one output batch at a time (a progress bar when there are several)."""
    for z in _progress(batches, n_batches):
        yield forward(generator, z, device)


def interpolate(generator: nn.Module, seed: int, rows: int, steps: int, batch_size: int, device: Any):
    """G along the walks of interpolation_latents: (rows, steps, *sample shape), clamped to [-1, 1]."""
    import torch

    z = interpolation_latents(seed, rows, steps, generator.z_dim).reshape(rows * steps, -1)
    batches = z.split(step_size(batch_size))
    images = torch.cat(list(generate(generator, batches, device, len(batches)))).clamp_(-1, 1)
    return images.reshape(rows, steps, *images.shape[1:])


def _progress(batches: Iterable, n_batches: int) -> Iterable:
    """A transient rich bar on a terminal (stderr, so stdout keeps only the list of files written)."""
    if n_batches <= 1:
        return batches
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    if not console.is_terminal:
        return batches
    return track(batches, description="sampling", total=n_batches, console=console, transient=True)


# ---- where the files go --------------------------------------------------------------------------------
def plan_outputs(cfg: Any, kind: str, run_dir: str | os.PathLike | None) -> dict[str, Path]:
    """What is written where, checked before any sampling: role ("grid", "gif", "folder", "npy",
    "scatter") -> path.

    out=<name>.png / <name>.npy names the main file and the others take its stem (walk.png and
    walk.gif); any other name with a suffix (x.jpg) is a file name too, and refused, so that no
    folder is ever called x.jpg; a name without one, an existing folder or one ending in `/` is a
    folder. Without out= the files go into run_dir.
    """
    if kind == "points":
        roles = ("npy",) if cfg.format == "npy" else ("scatter", "npy")
    elif cfg.interpolate:
        roles = ("grid", "gif") if cfg.gif else ("grid",)
    else:
        roles = {"grid": ("grid",), "png": ("folder",), "npy": ("npy",)}[cfg.format]
    stem = "interpolation" if cfg.interpolate else "samples"

    if cfg.out is None:
        if run_dir is None:
            raise ValueError("sampling.run needs out= in the config or a run_dir")
        folder, own_folder = Path(run_dir), False
    else:
        out = Path(os.path.expanduser(str(cfg.out)))
        folder, own_folder = out, True
        if out.suffix and not out.is_dir() and not str(cfg.out).endswith(os.sep):
            what = "interpolate=true" if cfg.interpolate else f"format={cfg.format}"
            if roles == ("folder",):
                raise UserError(
                    f"out={cfg.out}: {what} writes one PNG per sample into a folder; "
                    "give out=<folder> (or out=<name.x>/ for a dotted name)"
                )
            allowed = sorted({SUFFIX[role] for role in roles if role != "gif"})
            if out.suffix.lower() not in allowed:
                raise UserError(
                    f"out={cfg.out}: {what} writes a {' and a '.join(allowed)} file; "
                    f"give out=<name>{allowed[0]}, or out=<folder>/ for a folder"
                )
            folder, stem, own_folder = out.parent, out.stem, False
        elif out.exists() and not out.is_dir():
            raise UserError(f"out={cfg.out} is a file; give a new name, a folder, or <name>.png / <name>.npy")

    paths = {}
    for role in roles:
        if role == "folder":
            # out=<folder> holds the images themselves; a run folder keeps them in samples/.
            paths[role] = folder if own_folder else folder / stem
        else:
            paths[role] = folder / f"{stem}{SUFFIX[role]}"
    return paths


class _Partial:
    """A file written under a hidden name and renamed into place, so an interrupted run never
    leaves a half-written file that looks complete."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = path.with_name(f".{path.stem}.partial{path.suffix}")

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


# ---- writers ----------------------------------------------------------------------------------------
def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 (N, H, W, C), rounded as torchvision's save_image rounds."""
    return images.add(1).div(2).mul(255).add_(0.5).clamp_(0, 255).to("cpu").byte().permute(0, 2, 3, 1)


def _pil(image_u8: torch.Tensor):
    from PIL import Image

    array = image_u8.numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def _grid_u8(images: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    from gan_cli.outputs import plots

    grid = plots.image_grid(images, nrow)  # (3, H, W) in [0, 1]
    return grid.mul(255).add_(0.5).clamp_(0, 255).byte().permute(1, 2, 0)


def write_npy(generated: Iterable[torch.Tensor], n: int, shape: tuple[int, ...], path: Path) -> Path:
    """float32 (n, *shape), written batch by batch: 50,000 CIFAR images need not fit in memory twice."""
    import numpy as np

    with _Partial(path) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, *shape))
        filled = 0
        for batch in generated:
            array[filled : filled + batch.shape[0]] = batch.numpy()
            filled += batch.shape[0]
        array.flush()
        del array  # the memory map holds the file open until it is gone
    return path


def write_png_folder(generated: Iterable[torch.Tensor], n: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(6, len(str(n - 1)))
    index = 0
    for batch in generated:
        for image in to_uint8(batch):
            _pil(image).save(folder / f"{index:0{digits}d}.png")
            index += 1
    return folder


def write_grid(images: torch.Tensor, nrow: int | None, path: Path) -> Path:
    from gan_cli.outputs import plots

    with _Partial(path) as tmp:
        plots.save_png(plots.image_grid(images, nrow), tmp)
    return path


def write_gif(walks: torch.Tensor, path: Path) -> Path:
    """walks (rows, steps, C, H, W): frame j is the grid of every row's j-th image."""
    frames = [_pil(_grid_u8(walks[:, step])) for step in range(walks.shape[1])]
    with _Partial(path) as tmp:
        frames[0].save(tmp, save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0)
    return path


def write_scatter(points: torch.Tensor, data_cfg: dict[str, Any], path: Path) -> Path:
    """Generated points over as many real ones (the data set is generated in memory, no files)."""
    from gan_cli import data
    from gan_cli.outputs import plots

    real_set = data.build(SimpleNamespace(**data_cfg), "cpu", 1)
    real = real_set.real_sample(min(points.shape[0], real_set.num_examples))
    extent = float(real_set.modes.abs().max()) * 1.5  # the trainer's plots use the same frame
    with _Partial(path) as tmp:
        plots.save_png(plots.scatter(real, points, extent=extent), tmp)
    return path


# ---- the command ----------------------------------------------------------------------------------
def run(cfg: Any, run_dir: str | os.PathLike | None = None) -> list[Path]:
    """Sample as the config says; returns the files and folders written, main output first.

    cfg has the keys of gan_cli.commands.config.SampleConfig, already checked by validate_sample.
    """
    ckpt = resolve_checkpoint(cfg.ckpt)  # before torch is imported: a wrong path answers at once
    import torch

    from gan_cli import device as devices

    target = devices.resolve(cfg.device)
    loaded = load_generator(ckpt, target, use_ema=cfg.use_ema)
    if loaded.kind == "points" and cfg.interpolate:
        raise UserError(
            f"interpolate=true needs image data; {ckpt} was trained on data={loaded.data.get('name')} "
            "(2D points): drop interpolate=true"
        )
    paths = plan_outputs(cfg, loaded.kind, run_dir)
    for role, path in paths.items():
        folder = path if role == "folder" else path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create the folder {folder} ({error.strerror or error})") from None
    log.info(
        "checkpoint %s (step %s, %s weights, data %s), %d %s, seed %d (latents apart from the "
        "training grids'), device %s",
        ckpt, loaded.step, loaded.weights, loaded.data.get("name"), cfg.n,
        "rows" if cfg.interpolate else "samples", cfg.seed, target,
    )  # fmt: skip

    G, n, batch_size = loaded.generator, cfg.n, step_size(cfg.batch_size)
    try:
        if cfg.interpolate:
            walks = interpolate(G, sample_seed(cfg.seed), n, cfg.steps, batch_size, target)
            write_grid(walks.flatten(0, 1), cfg.steps, paths["grid"])
            if "gif" in paths:
                write_gif(walks, paths["gif"])
            return list(paths.values())

        batches = latent_batches(sample_seed(cfg.seed), n, G.z_dim, batch_size)
        generated = generate(G, batches, target, math.ceil(n / batch_size))
        if loaded.kind == "points":
            points = torch.cat(list(generated))
            if "scatter" in paths:
                write_scatter(points, loaded.data, paths["scatter"])
            write_npy([points], n, loaded.shape, paths["npy"])
            return list(paths.values())
        images = (batch.clamp_(-1, 1) for batch in generated)
        if "folder" in paths:
            write_png_folder(images, n, paths["folder"])
        elif "npy" in paths:
            write_npy(images, n, loaded.shape, paths["npy"])
        else:
            write_grid(torch.cat(list(images)), cfg.nrow, paths["grid"])
    except OSError as error:
        where = error.filename or ", ".join(map(str, paths.values()))
        raise UserError(f"cannot write {where} ({error.strerror or error})") from None
    return list(paths.values())
