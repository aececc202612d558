"""Which checkpoint `gan sample` / `gan eval` read, and the generator rebuilt from it.

Only the generator is needed: a checkpoint of any recipe (a GAN, a VAE's decoder, a generator
trained without a discriminator) samples, as long as it holds the generator's weights under
"generator" (and optionally "ema_generator"), the config it was built from and the sample shape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    from torch import nn

    from gan_cli.data.kinds import DataKind

CHECKPOINT_NAMES = ("best.pt", "last.pt")  # in order of preference inside a run folder


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
    def kind(self) -> DataKind:
        """What the samples are (images, 2D points): how they are shown and scored."""
        from gan_cli.data import kinds

        return kinds.kind_of_data(self.data, self.shape)


def _build_generator(model_cfg: dict[str, Any], shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """G of the model family the checkpoint names; a family that builds (G, D) gives its G."""
    from gan_cli import models

    # The models read their config by attribute; a namespace holds the stored dict as it is.
    built = models.build(SimpleNamespace(**model_cfg), shape, n_classes)
    return built[0] if isinstance(built, tuple) else built


def load_generator(path: str | os.PathLike, device: Any = "cpu", use_ema: bool = True) -> Loaded:
    """G rebuilt from the checkpoint's own config, with its weights (the EMA ones when present)."""
    from gan_cli.data.shapes import data_shape
    from gan_cli.outputs import checkpoint

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
        generator = _build_generator(config["model"], shape, int(payload.get("n_classes") or 0))
        from gan_cli.models import infogan

        generator = infogan.attach_from_config(generator, config)  # InfoGAN: its codes' latent sampler
    except UserError as error:
        raise UserError(f"{path}: {error}") from None
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as error:  # a crafted model config
        reason = " ".join(str(error).split())[:200]
        raise UserError(f"{path}: its model config cannot build a generator ({reason})") from None
    checkpoint.load_weights(generator, state, path, weights)
    generator.to(device).eval()
    step = payload.get("step")
    return Loaded(path, generator, shape, config["data"], step if isinstance(step, int) else None, weights)


def load_networks(path: str | os.PathLike, device: Any = "cpu") -> dict[str, nn.Module]:
    """The recipe's other networks by name (eval mode, on the device), where the model family builds
    them in its second slot and the checkpoint holds exactly one: a VAE's "encoder". Empty for a
    GAN (its discriminator is no use to sampling or scoring) and for checkpoints without them."""
    from gan_cli import models
    from gan_cli.outputs import checkpoint

    path = Path(path)
    payload = checkpoint.load(path, expect=checkpoint.FOR_SAMPLING)
    saved = payload.get("networks") or {}
    if payload.get("recipe", "gan") == "gan" or len(saved) != 1:
        return {}
    (name, state), config = next(iter(saved.items())), payload["config"]
    shape = tuple(payload["shape"]) if "shape" in payload else None
    if shape is None:
        return {}
    try:
        built = models.build(SimpleNamespace(**config["model"]), shape, int(payload.get("n_classes") or 0))
    except UserError as error:
        raise UserError(f"{path}: {error}") from None
    if not isinstance(built, tuple) or len(built) < 2:
        return {}
    network = built[1]
    checkpoint.load_weights(network, state, path, name)
    return {name: network.to(device).eval()}


def real_source(data_cfg: dict[str, Any]) -> Any:
    """The real data a view draws beside the samples (a 2D mixture), rebuilt from the checkpoint's
    data config: only for kinds whose view needs it (DataKind.view_needs_source)."""
    from gan_cli import data

    return data.build(SimpleNamespace(**data_cfg), "cpu", 1)
