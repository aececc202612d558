"""DCGAN: Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks" (arXiv:1511.06434).

Architecture guidelines from sec. 3 of the paper: strided (transposed) convolutions
instead of pooling, no fully connected hidden layers, BatchNorm everywhere except the
generator output and the discriminator input, ReLU in G with tanh at the output,
LeakyReLU(0.2) in D. Fig. 1 fixes the layout: z is projected to a small 4x4 map and
each layer doubles the resolution while halving the channels.

Sizes are the data's native ones: 28x28 starts from a 7x7 map (7 -> 14 -> 28), any
power of two from 16 to 256 starts from 4x4.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_cli.errors import UserError
from gan_cli.models.common import (
    MinibatchStd,
    apply_spectral_norm,
    bool_field,
    float_field,
    init_dcgan_weights,
    int_field,
)
from gan_cli.models.registry import register

DEFAULT_Z_DIM = 100
DEFAULT_WIDTH = 64
DEFAULT_SLOPE = 0.2
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


class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> images (N, C, H, W) in [-1, 1]."""

    def __init__(self, shape: tuple[int, int, int], z_dim: int, width: int, batchnorm: bool):
        super().__init__()
        self.shape = tuple(shape)
        self.z_dim = z_dim
        image_channels, image_size, _ = self.shape
        channels = hidden_channels(image_size, width)
        base = base_resolution(image_size)

        # "Project and reshape" (Fig. 1) as a transposed conv over a 1x1 input: a dense
        # layer to base x base x channels[0] without a separate reshape.
        layers = self._block(z_dim, channels[0], batchnorm, kernel_size=base, stride=1, padding=0)
        for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
            layers += self._block(in_ch, out_ch, batchnorm, kernel_size=4, stride=2, padding=1)
        layers += [
            nn.ConvTranspose2d(channels[-1], image_channels, 4, 2, 1),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    @staticmethod
    def _block(in_ch, out_ch, batchnorm, **conv_args) -> list[nn.Module]:
        # BN's shift makes a conv bias redundant.
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, bias=not batchnorm, **conv_args)]
        if batchnorm:
            layers.append(nn.BatchNorm2d(out_ch))
        layers.append(nn.ReLU())
        return layers

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (N, C, H, W) -> raw logits (N,).

    With ``spectral_norm`` every conv is spectrally normalized and ``batchnorm`` is ignored:
    SN-GAN's discriminators have no BatchNorm (Miyato et al. 2018), and BN's
    per-channel rescaling would undo the Lipschitz bound SN sets on each layer.

    pack: D scores packs of that many images stacked on the channels (PacGAN), given as
    (N / pack, pack * C, H, W) (gan_cli.models.common.pack_samples). minibatch_std: one more
    feature map before the last conv (Karras et al. 2018).
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        width: int,
        batchnorm: bool,
        slope: float,
        spectral_norm: bool = False,
        pack: int = 1,
        minibatch_std: bool = False,
    ):
        super().__init__()
        batchnorm = batchnorm and not spectral_norm
        self.shape = tuple(shape)
        self.pack = pack
        image_channels, image_size, _ = self.shape
        channels = hidden_channels(image_size, width)[::-1]
        base = base_resolution(image_size)

        # No BN on D's input layer (sec. 3): normalizing it made training unstable.
        layers: list[nn.Module] = [
            nn.Conv2d(image_channels * pack, channels[0], 4, 2, 1),
            nn.LeakyReLU(slope),
        ]
        for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
            layers.append(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(slope))
        if minibatch_std:
            layers.append(MinibatchStd())
        # A conv over the whole base map is the paper's final dense layer to one logit.
        layers.append(nn.Conv2d(channels[-1] + int(minibatch_std), 1, kernel_size=base))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])


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


@register("dcgan")
def build_dcgan(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    image_shape = _image_shape(shape)
    width = int_field(cfg, "width", DEFAULT_WIDTH)
    generator = DCGANGenerator(
        image_shape,
        z_dim=int_field(cfg, "z_dim", DEFAULT_Z_DIM),
        width=width,
        batchnorm=bool_field(cfg, "g_batchnorm", True),
    )
    discriminator = DCGANDiscriminator(
        image_shape,
        width=width,
        batchnorm=bool_field(cfg, "d_batchnorm", True),
        slope=float_field(cfg, "slope", DEFAULT_SLOPE),
        spectral_norm=bool_field(cfg, "d_spectral_norm", False),
        pack=pack,
        minibatch_std=bool_field(cfg, "minibatch_std", False),
    )
    return generator, discriminator
