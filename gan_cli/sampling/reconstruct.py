"""`gan sample reconstruct=true`: an autoencoder checkpoint's test images over their
reconstructions, one PNG grid (rows of `nrow` images, each followed by its reconstructions).

The images are the first n of the checkpoint's data set's fixed real sample (the test split where it
has one: gan_cli.data.batches.sample_indices), so the same checkpoint gives the same file; with
input=<folder>, the first n of that folder's images, read by data=folder at the checkpoint's size
and channels (shorter side resized, center crop). The
encoder comes from the checkpoint's other networks (loading.load_networks); the decoder is the
generator (EMA weights with use_ema=true, as for samples).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gan_cli.errors import UserError

DEFAULT_COLUMNS = 8
FILE_NAME = "reconstructions.png"


def output_path(out: str | None, run_dir: str | os.PathLike | None) -> Path:
    """out=<name>.png as given, out=<folder> -> <folder>/reconstructions.png, no out=: the run folder's."""
    if out is None:
        if run_dir is None:
            raise ValueError("reconstruct needs out= or a run_dir")
        return Path(run_dir) / FILE_NAME
    path = Path(os.path.expanduser(str(out)))
    if path.suffix and not path.is_dir() and not str(out).endswith(os.sep):
        if path.suffix.lower() != ".png":
            raise UserError(f"out={out}: reconstruct=true writes a .png grid; give <name>.png or a folder")
        return path
    if path.exists() and not path.is_dir():
        raise UserError(f"out={out} is a file; give a new name, a folder, or <name>.png")
    return path / FILE_NAME


def test_images(data_cfg: dict[str, Any], n: int):
    """n fixed real images in [-1, 1] (CPU) of the test split, else of the whole set."""
    from gan_cli import data

    try:
        real = data.build(SimpleNamespace(**{**data_cfg, "split": "test"}), "cpu", 1)
    except UserError:
        real = data.build(SimpleNamespace(**data_cfg), "cpu", 1)
    if real.num_examples < 1:
        raise UserError(f"data={data_cfg.get('name')} has no images to reconstruct")
    return real.real_sample(min(n, real.num_examples)).float()


def folder_images(folder: str, shape: tuple[int, ...], n: int):
    """n images of a folder at the generator's (channels, size, size), in [-1, 1] (CPU)."""
    from gan_cli import data

    channels, side = int(shape[0]), int(shape[-1])
    settings = {"name": "folder", "path": folder, "image_size": side, "channels": channels, "workers": 0}
    real = data.build(SimpleNamespace(**settings), "cpu", 1)
    return real.real_sample(min(n, real.num_examples)).float()


def run(cfg: Any, ckpt: Path, loaded: Any, device: Any, run_dir: str | os.PathLike | None) -> list[Path]:
    """Write the reconstruction grid; returns [its path]."""
    import torch

    from gan_cli.models.autoencoder import paired_rows, reconstruct
    from gan_cli.outputs import plots
    from gan_cli.sampling.loading import load_networks
    from gan_cli.sampling.writers import write_view

    if cfg.format != "grid" or cfg.interpolate:
        raise UserError("reconstruct=true writes one grid: drop format= and interpolate=")
    encoder = load_networks(ckpt, device).get("encoder")
    if encoder is None or not hasattr(loaded.generator, "decode"):
        raise UserError(
            f"reconstruct=true needs an autoencoder checkpoint (model=vae or model=ae); {ckpt} has no encoder"
        )
    path = output_path(cfg.out, run_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder {path.parent} ({error.strerror or error})") from None
    folder = cfg.get("input") if hasattr(cfg, "get") else getattr(cfg, "input", None)
    if folder is not None:
        images = folder_images(str(folder), tuple(loaded.shape), int(cfg.n))
    else:
        images = test_images(dict(loaded.data), int(cfg.n))
    columns = int(cfg.nrow or min(DEFAULT_COLUMNS, images.shape[0]))
    parts = [reconstruct(loaded.generator, encoder, batch).cpu() for batch in images.split(256)]
    shown = paired_rows(images, torch.cat(parts), columns)
    try:
        write_view(plots.image_grid(shown, nrow=columns), path)
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror or error})") from None
    return [path]
