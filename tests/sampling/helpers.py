"""What the tests of `gan sample` share: checkpoints in the trainer's format (with the full
resolved train config), sample configs checked as the command checks them, and bad checkpoints."""

from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image

from gan_cli import models, sampling
from gan_cli.commands.config import sample_schema, validate_sample
from gan_cli.outputs import checkpoint, plots
from gan_cli.outputs.images import unit_to_uint8
from tests.helpers import compose_train

SMALL_MLP = ["model.g_hidden=[32,64]", "model.d_hidden=[32]", "model.z_dim=16"]
# data=ring8 trains InfoGAN's codes by default (configs/data/ring8.yaml); these tests want the GAN
PLAIN_RING8 = ["data=ring8", "recipe=gan"]


def train_config(*overrides: str) -> dict:
    return OmegaConf.to_container(compose_train(*overrides), resolve=True)


def write_checkpoint(
    path: Path, config: dict, sample_shape: tuple[int, ...], seed: int = 0, n_classes: int = 0, **entries
) -> Path:
    """n_classes: the data's classes, as the trainer stores them (a model.cond run needs them)."""
    torch.manual_seed(seed)
    generator, discriminator = models.build(OmegaConf.create(config["model"]), sample_shape, n_classes)
    # Non-trivial BatchNorm statistics, as a trained G has: eval mode must use them.
    for module in generator.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    payload = {
        "config": config,
        "step": 7,
        "epoch": 0.5,
        "generator": generator.state_dict(),
        "discriminator": discriminator.state_dict(),
        **({"n_classes": n_classes} if n_classes else {}),
        **entries,
    }
    return checkpoint.save(payload, path)


def sample_cfg(ckpt, **overrides):
    cfg = sample_schema(ckpt=str(ckpt))  # SampleConfig and `class`, as the command composes it
    for key, value in {"device": "cpu", **overrides}.items():
        cfg[key] = value  # the schema type-checks each value, as Hydra would
    validate_sample(cfg)
    return cfg


def run(ckpt, **overrides) -> list[Path]:
    return sampling.run(sample_cfg(ckpt, **overrides))


def generator_of(ckpt: Path, use_ema: bool = True):
    return sampling.load_generator(ckpt, "cpu", use_ema).generator


def grid_pixels(samples: torch.Tensor, nrow: int | None) -> np.ndarray:
    """(H, W, 3) uint8: the grid of samples as its PNG holds it."""
    return unit_to_uint8(plots.image_grid(samples, nrow)).permute(1, 2, 0).numpy()


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


class CreatesAFile:
    """Unpickling this would create the file: the proof that a checkpoint's code never runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def bad_checkpoint(kind: str, folder: Path, good: Path) -> Path:
    path = folder / f"{kind}.pt"
    if kind == "missing":
        return folder / "nowhere" / "last.pt"
    if kind == "empty folder":
        (folder / "run" / "checkpoints").mkdir(parents=True)
        return folder / "run"
    if kind == "not a checkpoint":
        path.write_text("these are not the weights you are looking for\n")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:3000])
    elif kind == "newer format":
        torch.save({"format_version": checkpoint.FORMAT_VERSION + 1}, path)
    elif kind == "pickled code":
        torch.save({"format_version": 1, "x": CreatesAFile(folder / "pwned")}, path)
    elif kind == "no config":
        checkpoint.save({"generator": {}}, path)
    elif kind == "weights of another model":
        payload = checkpoint.load(good)
        payload["config"]["model"]["g_hidden"] = [8, 8]
        checkpoint.save(payload, path)
    return path


BAD_CHECKPOINTS = {
    "missing": "does not exist",
    "empty folder": "no checkpoints/best.pt or checkpoints/last.pt",
    "not a checkpoint": "not a loadable gan_cli checkpoint",
    "truncated": "not a loadable gan_cli checkpoint",
    "newer format": "newer than this gan_cli reads",
    "pickled code": "not a loadable gan_cli checkpoint",
    "no config": "has no model and data config",
    "weights of another model": "do not fit the model",
}
