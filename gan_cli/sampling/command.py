"""`run`: what `gan sample` does, without Hydra (tests call it directly)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError
from gan_cli.sampling import labels as classes
from gan_cli.sampling.destinations import FOLDER_ROLES, VIEW_ROLES, plan_outputs
from gan_cli.sampling.generation import generate, interpolate
from gan_cli.sampling.latents import latent_batches, sample_seed, step_size
from gan_cli.sampling.loading import load_generator, real_source, resolve_checkpoint
from gan_cli.sampling.writers import (
    labels_path,
    write_gif,
    write_labels,
    write_npy,
    write_png_folder,
    write_view,
)

log = logging.getLogger("gan_cli.commands.sample")


def run(cfg: Any, run_dir: str | os.PathLike | None = None) -> list[Path]:
    """Sample as the config says; returns the files and folders written, main output first.

    cfg has the keys of gan_cli.commands.config.SampleConfig (and `class`), already checked by
    validate_sample. A conditional generator's samples follow class= / classes= (labels.py says how).
    reconstruct=true (an autoencoder checkpoint): test images over their reconstructions instead
    (reconstruct.py).
    """
    request = classes.request_of(cfg)
    ckpt = resolve_checkpoint(cfg.ckpt)  # before torch is imported: a wrong path answers at once
    import torch

    from gan_cli import device as devices

    target = devices.resolve(cfg.device)
    loaded = load_generator(ckpt, target, use_ema=cfg.use_ema)
    if _read(cfg, "reconstruct", False):  # an autoencoder's test images over their reconstructions
        from gan_cli.sampling import reconstruct

        return reconstruct.run(cfg, ckpt, loaded, target, run_dir)
    kind = loaded.kind
    if cfg.interpolate and not kind.interpolates:
        raise UserError(
            f"interpolate=true needs image data; {ckpt} was trained on data={loaded.data.get('name')} "
            f"({kind.describe}): drop interpolate=true"
        )
    G = loaded.generator
    classes.check_request(request, G, ckpt)
    if _read(cfg, "vary") is not None:  # one part of the latent varied across a grid (sampling/vary.py)
        from gan_cli.sampling import vary

        paths = plan_outputs(cfg, kind, run_dir)
        return vary.write(cfg, G, kind, paths, target, step_size(cfg.batch_size), source=loaded.data)
    # a grid of images (not a scatter) or an interpolation shows classes as rows
    shows_rows = cfg.interpolate or "grid" in kind.output_roles(cfg.format)
    wanted = classes.classes_for(request, G, rows=shows_rows)
    rows = not cfg.interpolate and shows_rows and classes.class_rows(request, wanted)
    if rows and cfg.nrow is not None:
        raise UserError(
            f"nrow={cfg.nrow} does not apply to a conditional checkpoint's grid, which has one row per "
            "class (n // classes images each): drop nrow= and set n, or give class=K for one class"
        )
    paths = plan_outputs(cfg, kind, run_dir)
    if wanted is not None and "npy" in paths:
        paths["labels"] = labels_path(paths["npy"])
    for role, path in paths.items():
        folder = path if role in FOLDER_ROLES else path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create the folder {folder} ({error.strerror or error})") from None
    n, batch_size, nrow = cfg.n, step_size(cfg.batch_size), cfg.nrow
    if rows:  # one row per class: the first per_row * rows samples, laid out by labels.row_order
        nrow = classes.per_row(n, len(wanted))
        n = nrow * len(wanted)
    log.info(
        "checkpoint %s (step %s, %s weights, data %s), %d %s, seed %d (latents apart from the "
        "training grids'), device %s%s",
        ckpt, loaded.step, loaded.weights, loaded.data.get("name"), n,
        "rows" if cfg.interpolate else "samples", cfg.seed, target,
        "" if wanted is None else f", classes {','.join(map(str, wanted))}",
    )  # fmt: skip
    labels = None if wanted is None or cfg.interpolate else classes.cycle(wanted, 0, n)
    # what the kind's view compares the samples with: the real data rebuilt where the view draws it
    # (a 2D mixture), else the data config the checkpoint recorded (audio: its sample rate)
    source = real_source(loaded.data) if kind.view_needs_source else loaded.data
    try:
        if cfg.interpolate:  # a grid of the kind's view, one row per walk (and a GIF of its columns)
            walks = kind.clip(interpolate(G, sample_seed(cfg.seed), n, cfg.steps, batch_size, target, wanted))
            write_view(kind.view(walks.flatten(0, 1), source, nrow=cfg.steps), paths["grid"])
            if "gif" in paths:
                write_gif(walks, paths["gif"], view=lambda frame: kind.view(frame, source))
            return list(paths.values())

        batches = latent_batches(sample_seed(cfg.seed), n, G, batch_size)
        generated = (
            kind.clip(batch) for batch in generate(G, batches, target, math.ceil(n / batch_size), labels)
        )
        if "folder" in paths:
            write_png_folder(generated, n, paths["folder"], labels)
            return list(paths.values())
        if "labels" in paths:
            write_labels(labels, paths["labels"])
        view = next((role for role in paths if role in VIEW_ROLES), None)
        if view is None:  # only the array: written batch by batch, never all in memory
            write_npy(generated, n, loaded.shape, paths["npy"])
            return list(paths.values())
        samples = torch.cat(list(generated))
        if "wav" in paths:  # one sound file per clip, named with its class where there is one
            kind.write_samples(samples, paths["wav"], source, labels)
        shown = samples[classes.row_order(len(wanted), nrow)] if rows else samples
        write_view(kind.view(shown, source, nrow=nrow), paths[view])
        if "npy" in paths:
            write_npy([samples], n, loaded.shape, paths["npy"])
    except OSError as error:
        where = error.filename or ", ".join(map(str, paths.values()))
        raise UserError(f"cannot write {where} ({error.strerror or error})") from None
    return list(paths.values())


def _read(cfg: Any, key: str, default: Any = None) -> Any:
    """cfg.key, or default where the sample config has no such key."""
    try:
        value = cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default)
    except Exception:  # noqa: BLE001 - a struct config without the key
        return default
    return default if value is None else value
