"""Fully connected GAN, as in Goodfellow et al. 2014, "Generative Adversarial Nets".

The generator follows the widely used PyTorch-GAN MNIST baseline (eriklindernoren,
implementations/gan): Linear(z, 128) + LeakyReLU, then Linear + BatchNorm + LeakyReLU
for each wider layer, then a Linear to the data size. BatchNorm uses the default
eps=1e-5: the baseline's ``BatchNorm1d(n, 0.8)`` passes 0.8 as eps, not momentum.

Class conditioning (``cond``, gan_cli.models.conditioning): concat and acgan join a class
embedding to z; projection puts a per-class gain and bias after every hidden layer of G (after BN
where there is one: conditional BatchNorm); concat joins each sample's embedding to its flattened
features at D's input; projection's phi and acgan's class head read D's last hidden layer (after
minibatch_std when on).

The schema, ranges and registration are read at startup; torch is imported by the builder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List  # noqa: UP035 - OmegaConf reads these annotations: typing.List as in config.py

from gan_cli.errors import UserError
from gan_cli.models import conditioning
from gan_cli.models.conditioning import DEFAULT_COND_DIM
from gan_cli.models.sizes import LATENT, MAX_LAYERS, SLOPE, UNITS
from gan_cli.registry import MODELS


@dataclass
class MLPConfig:
    name: str = "mlp"
    z_dim: int = 100
    g_hidden: List[int] = field(default_factory=lambda: [128, 256, 512, 1024])  # noqa: UP006
    d_hidden: List[int] = field(default_factory=lambda: [512, 256])  # noqa: UP006
    g_batchnorm: bool = True  # after every hidden layer of G but the first
    slope: float = 0.2  # LeakyReLU's negative slope in G and D
    d_spectral_norm: bool = False  # spectral norm (Miyato et al. 2018) on every Linear of D, output included
    minibatch_std: bool = False  # Karras et al. 2018: D's last layer also sees the batch's spread
    cond: str = "none"  # class conditioning: none, concat, projection or acgan (needs labelled data)
    cond_dim: int = DEFAULT_COND_DIM  # class embedding joined to z (concat, acgan) and to D's input (concat)
    # several processes: BatchNorm's statistics over all ranks' batches (SyncBatchNorm), not each rank's
    sync_bn: bool = False


def check(cfg: Any) -> None:
    for key in ("g_hidden", "d_hidden"):
        widths = list(cfg[key])
        if not 1 <= len(widths) <= MAX_LAYERS:
            raise UserError(f"model.{key}={widths!r} is out of range: a list of 1 to {MAX_LAYERS} widths")


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example in one step) from the config alone: layer products."""
    g = [int(cfg.z_dim), *map(int, cfg.g_hidden)] + ([elements] if elements else [])
    d = ([elements] if elements else []) + [*map(int, cfg.d_hidden), 1]
    parameters = sum(a * b for a, b in zip(g[:-1], g[1:], strict=True))
    parameters += sum(a * b for a, b in zip(d[:-1], d[1:], strict=True))
    return parameters, sum(g) + 2 * sum(d)  # D sees real and fake


@MODELS.register(
    "mlp",
    schema=MLPConfig,
    summary="fully connected G and D (Goodfellow et al. 2014); images and 2D points",
    ranges={"z_dim": LATENT, "g_hidden": UNITS, "d_hidden": UNITS, "slope": SLOPE, **conditioning.RANGES},
    kinds=("image", "points"),
    check=check,
    size=size,
    one_cpu_thread=True,  # its matmuls are too small to share between threads (device.fit_cpu_threads)
)
def build_mlp(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    from torch import nn

    from gan_cli.models.common import (
        ConditionalBatchNorm,
        Generator,
        LabeledSequential,
        MinibatchStd,
        apply_spectral_norm,
        assemble_discriminator,
    )

    c = MODELS.settings(cfg, "mlp")
    conditioning.check_labels(c.cond, n_classes)
    cond = c.cond
    # G: the first layer has no BN in the baseline: normalizing the raw projection of z adds
    # nothing, since z is already standard normal. projection: every hidden layer gets a
    # per-class gain and bias, normalized first where the unconditional G has BN.
    layers: list[nn.Module] = []
    in_features = latent = c.z_dim + (c.cond_dim if cond in conditioning.EMBEDS_IN_G else 0)
    for index, width in enumerate(c.g_hidden):
        layers.append(nn.Linear(in_features, width))
        if cond == "projection":
            layers.append(ConditionalBatchNorm(width, n_classes, normalize=c.g_batchnorm and index > 0))
        elif c.g_batchnorm and index > 0:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.LeakyReLU(c.slope))
        in_features = width
    layers.append(nn.Linear(in_features, math.prod(shape)))
    # Images are scaled to [-1, 1], so tanh matches their range; 2D points live on an
    # unbounded plane (e.g. [-4, 4]^2) and a squashing output could not reach them.
    if len(shape) == 3:
        layers.append(nn.Tanh())
    net = LabeledSequential(*layers) if cond == "projection" else nn.Sequential(*layers)
    embed = nn.Embedding(n_classes, c.cond_dim) if cond in conditioning.EMBEDS_IN_G else None
    generator = Generator(net, shape, c.z_dim, (latent,), cond=cond, n_classes=n_classes, embed=embed)

    # D: samples, or packs of `pack` samples (PacGAN), flattened to (N / pack, pack * features);
    # concat: each sample's features followed by its label's embedding.
    layers = [nn.Flatten()]
    in_features = (math.prod(shape) + (c.cond_dim if cond == "concat" else 0)) * pack
    for width in c.d_hidden:
        layers += [nn.Linear(in_features, width), nn.LeakyReLU(c.slope)]
        in_features = width
    if c.minibatch_std:
        layers.append(MinibatchStd())
        in_features += 1
    head = nn.Linear(in_features, 1)
    # phi: the trunk's output, which the head, the projection and the classes read
    classes = nn.Linear(in_features, pack * n_classes) if cond == "acgan" else None
    discriminator = assemble_discriminator(
        layers, head, shape, pack, cond=cond, n_classes=n_classes, cond_dim=c.cond_dim,
        phi_size=in_features, class_head=classes,
    )  # fmt: skip
    if c.d_spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator
