"""Fully connected GAN, as in Goodfellow et al. 2014, "Generative Adversarial Nets".

The generator follows the widely used PyTorch-GAN MNIST baseline (eriklindernoren,
implementations/gan): Linear(z, 128) + LeakyReLU, then Linear + BatchNorm + LeakyReLU
for each wider layer, then a Linear to the data size. BatchNorm uses the default
eps=1e-5: the baseline's ``BatchNorm1d(n, 0.8)`` passes 0.8 as eps, not momentum.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_cli.models.common import MinibatchStd, apply_spectral_norm, bool_field, float_field, int_field, int_list_field
from gan_cli.models.registry import register

DEFAULT_Z_DIM = 100
DEFAULT_G_HIDDEN = [128, 256, 512, 1024]
DEFAULT_D_HIDDEN = [512, 256]
DEFAULT_SLOPE = 0.2


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> samples (N, *shape); tanh for images, linear for vectors."""

    def __init__(
        self,
        shape: tuple[int, ...],
        z_dim: int,
        hidden: list[int],
        batchnorm: bool,
        slope: float,
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.z_dim = z_dim
        layers: list[nn.Module] = []
        in_features = z_dim
        for index, width in enumerate(hidden):
            layers.append(nn.Linear(in_features, width))
            # The first layer has no BN in the baseline: normalizing the raw projection
            # of z adds nothing, since z is already standard normal.
            if batchnorm and index > 0:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.LeakyReLU(slope))
            in_features = width
        layers.append(nn.Linear(in_features, math.prod(self.shape)))
        # Images are scaled to [-1, 1], so tanh matches their range; 2D points live on an
        # unbounded plane (e.g. [-4, 4]^2) and a squashing output could not reach them.
        if len(self.shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """samples (N, *shape) -> raw logits (N,); spectral_norm wraps every Linear (Miyato et al. 2018).

    pack: D scores packs of that many samples (PacGAN), given as (N / pack, pack * features) or any
    shape that flattens to it (gan_cli.models.common.pack_samples). minibatch_std: one more
    feature before the output layer (Karras et al. 2018)."""

    def __init__(
        self,
        shape: tuple[int, ...],
        hidden: list[int],
        slope: float,
        spectral_norm: bool = False,
        pack: int = 1,
        minibatch_std: bool = False,
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.pack = pack
        layers: list[nn.Module] = [nn.Flatten()]
        in_features = math.prod(self.shape) * pack
        for width in hidden:
            layers += [nn.Linear(in_features, width), nn.LeakyReLU(slope)]
            in_features = width
        if minibatch_std:
            layers.append(MinibatchStd())
            in_features += 1
        layers.append(nn.Linear(in_features, 1))
        self.net = nn.Sequential(*layers)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@register("mlp")
def build_mlp(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    slope = float_field(cfg, "slope", DEFAULT_SLOPE)
    generator = MLPGenerator(
        shape,
        z_dim=int_field(cfg, "z_dim", DEFAULT_Z_DIM),
        hidden=int_list_field(cfg, "g_hidden", DEFAULT_G_HIDDEN),
        batchnorm=bool_field(cfg, "g_batchnorm", True),
        slope=slope,
    )
    discriminator = MLPDiscriminator(
        shape,
        hidden=int_list_field(cfg, "d_hidden", DEFAULT_D_HIDDEN),
        slope=slope,
        spectral_norm=bool_field(cfg, "d_spectral_norm", False),
        pack=pack,
        minibatch_std=bool_field(cfg, "minibatch_std", False),
    )
    return generator, discriminator
