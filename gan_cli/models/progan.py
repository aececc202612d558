"""Progressive growing of GANs: Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of GANs
for Improved Quality, Stability, and Variation" (arXiv:1710.10196).

G and D are built for the data's size, as a ladder of levels from a base map (4x4, or 7x7 for
28x28 data: the side halved while it stays even and at least 4) up to the data's side. Training
(recipe=progan, gan_cli.training.recipes.progan) starts at the base level and fades each next level
in; the networks hold their phase (level, alpha) as buffers, so every checkpoint, and the EMA
generator, generates at the phase it was saved at.

From the paper (sec. 2, 4.1, 4.2, appendix A.1): G is z (pixel-normalized) -> dense to the base map
-> 3x3 conv, then per level a nearest-neighbour 2x up-sampling and two 3x3 convs, every conv with
LeakyReLU 0.2 and pixel norm, and a 1x1 "toRGB" per level with a linear output; D mirrors it with a
1x1 "fromRGB" per level, two 3x3 convs and a 2x2 average pooling per level, then the minibatch
standard deviation map, a 3x3 conv, a dense layer and the linear logit. Every weight is drawn from
N(0, 1) and scaled at run time by He's constant sqrt(2 / fan_in) (the equalized learning rate).
During a fade-in the new level's output is mixed with the up-sampled output of the level below,
(1 - alpha) * old + alpha * new, in G, and in D the new level's features with those of the
average-pooled input.

How it sits in the generic GAN step: G always returns images at the data's size, its output at
the current level up-sampled (nearest); D average-pools its input down to the current level
first, which undoes that up-sampling (up to float rounding). The recipe shows D the real images
the same way (pooled to the current level, faded like G's output, up-sampled), so D never sees
detail G cannot make yet.

Channels: model.width at the data's size, doubling per halving of the side up to 8 x width (the
paper: 512 up to 32x32, halving above). Deviations: no class conditioning, and the batch size
stays trainer.batch_size at every level.

The schema, ranges and registration are read at startup; torch is imported by the builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gan_cli.errors import UserError
from gan_cli.models.sizes import LATENT, UNITS
from gan_cli.registry import MODELS

MIN_BASE = 4  # the smallest base map; a side is halved while it stays even and at least this


@dataclass
class ProGANConfig:
    name: str = "progan"
    z_dim: int = 128
    width: int = 32  # channels at the data's size; doubling per halving of the side, up to 8x
    pixel_norm: bool = True  # G's per-pixel feature normalization after every conv (paper sec. 4.2)
    minibatch_std: bool = True  # the standard deviation map at D's last level (paper sec. 3)
    cond: str = "none"  # class conditioning: not for this family


def levels(side: int) -> list[int]:
    """The sides of the ladder, base first: 28 -> [7, 14, 28], 32 -> [4, 8, 16, 32]."""
    sides = [side]
    while sides[0] % 2 == 0 and sides[0] // 2 >= MIN_BASE:
        sides.insert(0, sides[0] // 2)
    return sides


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"model=progan trains on square images; this data set's samples are {tuple(shape)}")
    return shape[0], shape[1], shape[2]


def check(cfg: Any) -> None:
    cond = cfg.get("cond", "none") if hasattr(cfg, "get") else cfg.cond
    if cond != "none":
        raise UserError(f"model.cond={cond}: model=progan has no class conditioning (use dcgan or resnet)")


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example) for the config check, at a 32x32 ladder (4x4 to 32x32):
    two 3x3 convs per level in G and D, the dense layers at the base."""
    width, sides = int(cfg.width), [4, 8, 16, 32]
    channels = [width * min(2 ** (len(sides) - 1 - i), 8) for i in range(len(sides))]
    convs = sum(2 * 9 * c * c for c in channels)
    dense = int(cfg.z_dim) * channels[0] * 16 + channels[0] * 16 * channels[0]
    return 2 * convs + dense, 2 * sum(c * s * s for c, s in zip(channels, sides, strict=True))


@MODELS.register(
    "progan",
    schema=ProGANConfig,
    summary="progressive growing (Karras et al. 2018): levels fade in from 4x4 (7x7) to the data's size",
    ranges={"z_dim": LATENT, "width": UNITS},
    kinds=("image",),
    check=check,
    size=size,
    recipes=("progan",),  # recipe=gan would train the base level alone
)
def build_progan(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    from gan_cli.models.progan_nets import ProDiscriminator, ProGenerator

    c = MODELS.settings(cfg, "progan")
    check(c)
    channels, side, _ = _image_shape(tuple(shape))
    sides = levels(side)
    generator = ProGenerator(c.z_dim, c.width, channels, sides, pixel_norm=c.pixel_norm)
    discriminator = ProDiscriminator(c.width, channels, sides, pack=pack, minibatch_std=c.minibatch_std)
    return generator, discriminator
