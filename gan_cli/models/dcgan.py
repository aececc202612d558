"""DCGAN: Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks" (arXiv:1511.06434).

Architecture guidelines from sec. 3 of the paper: strided (transposed) convolutions
instead of pooling, no fully connected hidden layers, BatchNorm everywhere except the
generator output and the discriminator input, ReLU in G with tanh at the output,
LeakyReLU(0.2) in D. Fig. 1 fixes the layout: z is projected to a small 4x4 map and
each layer doubles the resolution while halving the channels.

Sizes are the data's native ones: 28x28 starts from a 7x7 map (7 -> 14 -> 28), any
power of two from 16 to 256 starts from 4x4.

Class conditioning (``cond``, gan_cli.models.conditioning): concat and acgan join a class
embedding to z (G's first transposed conv reads z_dim + cond_dim channels of 1x1); projection
makes every BatchNorm of G conditional (per-class gain and bias; with g_batchnorm=false the
per-class affine alone). In D, concat joins each sample's embedding as cond_dim constant feature
maps to its image channels at D's input, before packing; projection's phi and acgan's class head
read the map D's last conv reads (that conv over the whole map is the paper's dense layer).

The schema, ranges and registration are read at startup; torch is imported by the builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gan_cli.errors import UserError
from gan_cli.models import conditioning
from gan_cli.models.conditioning import DEFAULT_COND_DIM
from gan_cli.models.sizes import LATENT, SLOPE
from gan_cli.registry import MODELS, Range


@dataclass
class DCGANConfig:
    name: str = "dcgan"
    z_dim: int = 100
    width: int = 64  # channels of G's last hidden layer and D's first; doubles per halving
    g_batchnorm: bool = True
    d_batchnorm: bool = True
    slope: float = 0.2  # LeakyReLU's negative slope in D
    # Spectral norm (Miyato et al. 2018) on every conv of D, the logit layer included. True also
    # switches D's BatchNorm off whatever d_batchnorm says: SN-GAN's D has none, and BN's rescaling
    # would undo the per-layer Lipschitz bound.
    d_spectral_norm: bool = False
    minibatch_std: bool = False  # Karras et al. 2018: one more feature map before D's last conv
    cond: str = "none"  # class conditioning: none, concat, projection or acgan (needs labelled data)
    cond_dim: int = DEFAULT_COND_DIM  # class embedding joined to z (concat, acgan) and to D's input (concat)
    # several processes: BatchNorm's statistics over all ranks' batches (SyncBatchNorm), not each rank's
    sync_bn: bool = False


# The paper's 64x64 net tops out at 8x the last layer's channels (1024 vs 128); keeping
# that cap at 128/256 stops the deepest layers reaching 32x the width.
MAX_WIDTH_MULTIPLIER = 8
POWER_OF_TWO_SIZES = (16, 32, 64, 128, 256)
SUPPORTED_SIZES = (16, 28, 32, 64, 128, 256)


def base_resolution(image_size: int) -> int:
    """Side of the first feature map, from which each layer doubles to ``image_size``."""
    if image_size == 28:
        return 7
    if image_size in POWER_OF_TWO_SIZES:
        return 4
    raise ValueError(f"no DCGAN layout for {image_size}x{image_size}")  # users hit _image_shape first


def hidden_channels(image_size: int, width: int) -> list[int]:
    """Channels of the hidden feature maps, from the base map up to image_size / 2.

    The map just below the output has ``width`` channels, each halving of the
    resolution below it doubles them, capped at ``MAX_WIDTH_MULTIPLIER * width``.
    D uses the same list in reverse, so G and D mirror each other.
    """
    n_maps = (image_size // base_resolution(image_size)).bit_length() - 1
    return [width * min(2 ** (n_maps - 1 - i), MAX_WIDTH_MULTIPLIER) for i in range(n_maps)]


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise UserError(
            f"model=dcgan needs image data (C, H, W), got data of shape {shape}; use model=mlp for point data"
        )
    channels, height, width = shape
    if height != width or height not in SUPPORTED_SIZES:
        raise UserError(
            f"model=dcgan cannot make {height}x{width} images: supported sizes are square "
            f"{', '.join(map(str, SUPPORTED_SIZES))}; use data at one of them or model=mlp"
        )
    return channels, height, width


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example in one step), roughly, at 64x64: 4x4 kernels between
    8w, 4w, 2w and w channels, in G and in D."""
    width = int(cfg.width)
    parameters = 2 * 16 * 42 * width**2 + int(cfg.z_dim) * 8 * width * 16
    return parameters, 3 * (elements or 3 * 32 * 32) + 8 * width * 16


@MODELS.register(
    "dcgan",
    schema=DCGANConfig,
    summary="strided-convolution G and D (Radford et al. 2015); images of 28, or 16 to 256",
    ranges={
        "z_dim": LATENT,
        "width": Range(1, 512, note="8 x width channels at the deepest layer"),
        "slope": SLOPE,
        **conditioning.RANGES,
    },
    kinds=("image",),
    size=size,
)
def build_dcgan(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    from torch import nn

    from gan_cli.models.common import (
        ConditionalBatchNorm,
        Generator,
        LabeledSequential,
        MinibatchStd,
        apply_spectral_norm,
        assemble_discriminator,
        init_dcgan_weights,
    )

    image_channels, image_size, _ = image_shape = _image_shape(shape)
    c = MODELS.settings(cfg, "dcgan")
    conditioning.check_labels(c.cond, n_classes)
    cond, projection = c.cond, c.cond == "projection"
    channels = hidden_channels(image_size, c.width)
    base = base_resolution(image_size)

    # G, z (N, z_dim) -> images (N, C, H, W) in [-1, 1]. "Project and reshape" (Fig. 1) as a
    # transposed conv over a 1x1 input: a dense layer to base x base x channels[0] without a
    # separate reshape. BN's shift (projection: the per-class bias) makes a conv bias redundant.
    def block(in_ch: int, out_ch: int, **conv_args: Any) -> list[nn.Module]:
        bias = not (c.g_batchnorm or projection)
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, bias=bias, **conv_args)]
        if projection:
            layers.append(ConditionalBatchNorm(out_ch, n_classes, maps=True, normalize=c.g_batchnorm))
        elif c.g_batchnorm:
            layers.append(nn.BatchNorm2d(out_ch))
        layers.append(nn.ReLU())
        return layers

    latent = c.z_dim + (c.cond_dim if cond in conditioning.EMBEDS_IN_G else 0)
    layers = block(latent, channels[0], kernel_size=base, stride=1, padding=0)
    for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
        layers += block(in_ch, out_ch, kernel_size=4, stride=2, padding=1)
    layers += [nn.ConvTranspose2d(channels[-1], image_channels, 4, 2, 1), nn.Tanh()]
    net = LabeledSequential(*layers) if projection else nn.Sequential(*layers)
    embed = nn.Embedding(n_classes, c.cond_dim) if cond in conditioning.EMBEDS_IN_G else None
    generator = Generator(
        net, image_shape, c.z_dim, latent_shape=(latent, 1, 1), cond=cond, n_classes=n_classes, embed=embed
    )
    generator.apply(init_dcgan_weights)

    # D, images (N, C, H, W) or packs of them stacked on the channels (PacGAN) -> raw logits (N,).
    # With spectral norm every conv is normalized and BatchNorm is off: SN-GAN's discriminators
    # have none (Miyato et al. 2018), and BN's per-channel rescaling would undo the bound.
    # concat: each sample's image channels followed by cond_dim constant maps of its embedding.
    batchnorm = c.d_batchnorm and not c.d_spectral_norm
    channels = channels[::-1]
    in_channels = (image_channels + (c.cond_dim if cond == "concat" else 0)) * pack
    # No BN on D's input layer (sec. 3): normalizing it made training unstable.
    layers = [nn.Conv2d(in_channels, channels[0], 4, 2, 1), nn.LeakyReLU(c.slope)]
    for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
        layers.append(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(out_ch))
        layers.append(nn.LeakyReLU(c.slope))
    if c.minibatch_std:
        layers.append(MinibatchStd())
    # A conv over the whole base map is the paper's final dense layer to one logit.
    phi_channels = channels[-1] + int(c.minibatch_std)
    head = nn.Conv2d(phi_channels, 1, kernel_size=base)
    classes = nn.Conv2d(phi_channels, pack * n_classes, kernel_size=base) if cond == "acgan" else None
    # phi: the trunk's map, which the head, the projection and the classes read
    discriminator = assemble_discriminator(
        layers, head, image_shape, pack, cond=cond, n_classes=n_classes, cond_dim=c.cond_dim,
        phi_size=phi_channels * base * base, class_head=classes, join_maps=True,
    )  # fmt: skip
    discriminator.apply(init_dcgan_weights)
    if c.d_spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator
