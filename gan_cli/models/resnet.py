"""SNGAN's ResNet: Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative
Adversarial Networks" (ICLR 2018, arXiv:1802.05957), appendix B: the ResNet G and D of the
CIFAR-10 (32x32) and STL-10 (48x48) tables; 64 and 128 follow the authors' code
(pfnet-research/sngan_projection, released with Miyato & Koyama 2018, "cGANs with Projection
Discriminator", arXiv:1802.05637); mimicry's sngan_32/48/64/128 reproduce the same nets.

G: a dense layer from z to a base x base map (4x4; 7x7 for 28x28, 6x6 for 48x48), up-sampling
residual blocks (BN, ReLU, nearest 2x up-sampling, 3x3 conv, BN, ReLU, 3x3 conv; shortcut:
up-sampling and a 1x1 conv), then BN, ReLU, a 3x3 conv to the image channels and tanh.
D: the code's "optimized" first block (3x3 conv, ReLU, 3x3 conv, 2x2 average pooling; shortcut:
pooling and a 1x1 conv), down-sampling residual blocks (ReLU, 3x3 conv, ReLU, 3x3 conv, pooling;
shortcut: a 1x1 conv and pooling, the identity where neither channels nor size change),
non-down-sampling blocks where the tables have them, then ReLU, global SUM pooling and a dense
layer to one logit. No BatchNorm in D; spectral norm on every layer of D by default.

Layout per size (w = ``width``; G: the base map's channels, then each up block's; D: each block's):
- 16, 28 and 32 (the CIFAR-10 table): every block has w channels; G has log2(size / base) up
  blocks; D down-samples twice (the optimized block and one more) to size / 4, then two blocks
  that keep the size. The paper's CIFAR-10 net is G 256, D 128 channels.
- 48 and above (the STL-10 table and the code's 64/128): channels halve as G's resolution
  doubles, ending at w, and double with each of D's down-samplings from w, both capped at 16 w:
  48 (base 6): G 8w..w, D w 2w 4w 8w (down to 3x3) and one 16w block; 64: G 16w..w, D w..16w
  (down to 2x2, as the code's 64); 128 and 256: D down to 4x4 and one 16w block. The paper's
  STL-10 and ImageNet nets are w = 64.

Init as the authors' code: Xavier uniform, gain sqrt(2) for the residual branches' 3x3 convs and
1 for the shortcuts' 1x1 convs, G's dense layer and output conv and D's dense head; biases 0.

Class conditioning (``cond``, gan_cli.models.conditioning): projection makes the BatchNorms of G's
up blocks conditional (per-class gain and bias; the last BN before the output conv stays plain,
as in the authors' code) and D's logit psi(phi) + <embed(y), phi> on the sum-pooled features phi
(Miyato & Koyama 2018, eq. 3); acgan's class head reads phi too; concat and acgan join a class
embedding to z at G's dense layer; concat joins each sample's embedding as cond_dim constant maps
to its image channels at D's input, before PacGAN packing. ``minibatch_std`` adds its map after
D's last ReLU, before the sum pooling.

The schema, ranges and registration are read at startup; torch is imported by the builder (the
residual blocks are defined on first use, ``blocks()``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from gan_cli.errors import UserError
from gan_cli.models import conditioning
from gan_cli.models.conditioning import DEFAULT_COND_DIM
from gan_cli.models.sizes import LATENT
from gan_cli.registry import MODELS, Range


@dataclass
class ResNetConfig:
    name: str = "resnet"
    z_dim: int = 128  # the paper's
    # Channels of every block at 32x32 and below, in G and D (the paper: G 256, D 128); at 48 and
    # above the channels of G's last block and D's first, doubling per halving up to 16 x width
    # (the paper: 64). 24, not the paper's widths, so that the default 5,000-step run on a CPU
    # costs about what dcgan's default does (a few minutes on 2 cores): at 28x28 G and D take
    # ~18M multiply-adds per image against dcgan's ~14M (width 32: ~33M, 64: ~129M); the layout is
    # the paper's either way, and model.width=128 gives its 32x32 D.
    width: int = 24
    # Spectral norm (Miyato et al. 2018) on every conv and dense layer of D, the head, the acgan
    # class head and the projection embedding included; D has no BatchNorm either way.
    d_spectral_norm: bool = True
    minibatch_std: bool = False  # Karras et al. 2018: one more feature map before D's sum pooling
    cond: str = "none"  # class conditioning: none, concat, projection or acgan (needs labelled data)
    cond_dim: int = DEFAULT_COND_DIM  # class embedding joined to z (concat, acgan) and to D's input (concat)
    # several processes: BatchNorm's statistics over all ranks' batches (SyncBatchNorm), not each rank's
    sync_bn: bool = False


SUPPORTED_SIZES = (16, 28, 32, 48, 64, 128, 256)
SMALL_SIZES = (16, 28, 32)  # the CIFAR-10 layout: constant width
MAX_WIDTH_MULTIPLIER = 16  # the code's 64/128 nets: 64 to 1024 channels
# Larger sizes: D's down-samplings (the optimized block included) and its blocks that keep the size
# after them, from the paper's STL-10 table and the authors' 64 and 128 nets; 256 goes on as 128.
LARGE_D = {48: (4, 1), 64: (5, 0), 128: (5, 1), 256: (6, 1)}


class Layout(NamedTuple):
    base: int  # side of G's first map
    g: list[int]  # G: the base map's channels, then each up block's output channels
    d: list[tuple[int, bool]]  # D: each block's output channels and whether it down-samples


def base_resolution(image_size: int) -> int:
    return {28: 7, 48: 6}.get(image_size, 4)


def layout(image_size: int, width: int) -> Layout:
    """Blocks and channels of G and D for square images of ``image_size`` (one of SUPPORTED_SIZES)."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(f"no ResNet layout for {image_size}x{image_size}")  # users hit _image_shape first
    base = base_resolution(image_size)
    ups = (image_size // base).bit_length() - 1
    if image_size in SMALL_SIZES:
        return Layout(base, [width] * (ups + 1), [(width, True)] * 2 + [(width, False)] * 2)
    g = [width * min(image_size // (base * 2**i), MAX_WIDTH_MULTIPLIER) for i in range(ups + 1)]
    downs, keeps = LARGE_D[image_size]
    d = [(width * min(2**i, MAX_WIDTH_MULTIPLIER), True) for i in range(downs)]
    return Layout(base, g, d + [(width * MAX_WIDTH_MULTIPLIER, False)] * keeps)


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise UserError(
            f"model=resnet needs image data (C, H, W), got data of shape {shape}; "
            "use model=mlp for point data"
        )
    channels, height, width = shape
    if height != width or height not in SUPPORTED_SIZES:
        raise UserError(
            f"model=resnet cannot make {height}x{width} images: supported sizes are square "
            f"{', '.join(map(str, SUPPORTED_SIZES))}; use data at one of them or model=mlp"
        )
    return channels, height, width


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example in one step), roughly, from the layout: the data's side is
    read from ``elements`` for 1 or 3 channels (64x64 otherwise)."""
    side, channels = 64, 3
    for c in (1, 3):
        root = math.isqrt((elements or 0) // c)
        if elements and c * root * root == elements and root in SUPPORTED_SIZES:
            side, channels = root, c
            break
    width, z_dim = int(cfg.width), int(cfg.z_dim)
    plan = layout(side, width)
    parameters = z_dim * plan.base**2 * plan.g[0] + 9 * plan.g[-1] * channels
    numbers, resolution = plan.base**2 * plan.g[0], plan.base
    for c_in, c_out in zip(plan.g[:-1], plan.g[1:], strict=True):
        resolution *= 2
        parameters += 9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out
        numbers += 6 * c_out * resolution**2
    c_in, resolution = channels, side
    for c_out, down in plan.d:
        parameters += 9 * c_in * c_in + 9 * c_in * c_out + c_in * c_out
        numbers += 2 * 6 * c_in * resolution**2  # real and fake
        c_in, resolution = c_out, resolution // 2 if down else resolution
    return parameters, numbers


@MODELS.register(
    "resnet",
    schema=ResNetConfig,
    summary="SNGAN's residual G and D (Miyato et al. 2018); images of 28, 48, or 16 to 256",
    ranges={
        "z_dim": LATENT,
        "width": Range(1, 512, note="16 x width channels at the deepest block from 48x48 up"),
        **conditioning.RANGES,
    },
    kinds=("image",),
    size=size,
)
def build_resnet(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    from torch import nn

    from gan_cli.models.common import (
        Generator,
        LabeledSequential,
        MinibatchStd,
        apply_spectral_norm,
        assemble_discriminator,
    )

    image_channels, image_size, _ = image_shape = _image_shape(shape)
    c = MODELS.settings(cfg, "resnet")
    conditioning.check_labels(c.cond, n_classes)
    cond, projection = c.cond, c.cond == "projection"
    plan = layout(image_size, c.width)
    b = blocks()

    # G, z (N, z_dim) -> images (N, C, H, W) in [-1, 1]; projection: conditional BN in the blocks.
    latent = c.z_dim + (c.cond_dim if cond in conditioning.EMBEDS_IN_G else 0)
    layers: list[nn.Module] = [
        nn.Linear(latent, plan.base**2 * plan.g[0]),
        nn.Unflatten(1, (plan.g[0], plan.base, plan.base)),
    ]
    classes = n_classes if projection else 0
    layers += [b.UpBlock(i, o, classes) for i, o in zip(plan.g[:-1], plan.g[1:], strict=True)]
    layers += [
        nn.BatchNorm2d(plan.g[-1]),
        nn.ReLU(),
        nn.Conv2d(plan.g[-1], image_channels, 3, 1, 1),
        nn.Tanh(),
    ]
    b.init_plain(layers[0])
    b.init_plain(layers[-2])
    net = LabeledSequential(*layers) if projection else nn.Sequential(*layers)
    embed = nn.Embedding(n_classes, c.cond_dim) if cond in conditioning.EMBEDS_IN_G else None
    generator = Generator(
        net, image_shape, c.z_dim, latent_shape=(latent,), cond=cond, n_classes=n_classes, embed=embed
    )

    # D, images (N, C, H, W) or packs of them stacked on the channels (PacGAN) -> raw logits (N,);
    # concat: each sample's image channels followed by cond_dim constant maps of its embedding.
    in_channels = (image_channels + (c.cond_dim if cond == "concat" else 0)) * pack
    (first, _), rest = plan.d[0], plan.d[1:]
    layers = [b.OptimizedBlock(in_channels, first)]
    for (c_in, _), (c_out, down) in zip(plan.d[:-1], rest, strict=True):
        layers.append(b.DownBlock(c_in, c_out, down))
    layers.append(nn.ReLU())
    if c.minibatch_std:
        layers.append(MinibatchStd())
    layers.append(b.SumPool())
    phi_features = plan.d[-1][0] + int(c.minibatch_std)
    head = b.init_plain(nn.Linear(phi_features, 1))
    classes = b.init_plain(nn.Linear(phi_features, pack * n_classes)) if cond == "acgan" else None
    # phi: the pooled features, which the head, the projection and the classes read
    discriminator = assemble_discriminator(
        layers, head, image_shape, pack, cond=cond, n_classes=n_classes, cond_dim=c.cond_dim,
        phi_size=phi_features, class_head=classes, join_maps=True,
    )  # fmt: skip
    if c.d_spectral_norm:
        apply_spectral_norm(discriminator)
    return generator, discriminator


@functools.cache
def blocks() -> Any:
    """The residual blocks and helpers (torch modules), defined on first use so that importing this
    module, which registers the family at startup, does not import torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from gan_cli.models.common import ConditionalBatchNorm

    residual_gain = math.sqrt(2.0)

    def init(conv: nn.Module, gain: float) -> nn.Module:
        nn.init.xavier_uniform_(conv.weight, gain)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        return conv

    def init_plain(layer: nn.Module) -> nn.Module:
        """Xavier uniform with gain 1, bias 0: shortcuts, G's dense layer and output conv, D's heads."""
        return init(layer, 1.0)

    def conv3(c_in: int, c_out: int) -> nn.Conv2d:
        return init(nn.Conv2d(c_in, c_out, 3, 1, 1), residual_gain)

    def conv1(c_in: int, c_out: int) -> nn.Conv2d:
        return init_plain(nn.Conv2d(c_in, c_out, 1, 1, 0))

    def up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")

    class UpBlock(nn.Module):
        """G's block: residual BN, ReLU, 2x nearest up-sampling, 3x3 conv, BN, ReLU, 3x3 conv;
        shortcut up-sampling and a 1x1 conv. ``n_classes`` > 0: conditional BatchNorm
        (projection), forward(x, labels)."""

        def __init__(self, c_in: int, c_out: int, n_classes: int = 0):
            super().__init__()
            self.takes_labels = n_classes > 0
            if self.takes_labels:
                self.b1 = ConditionalBatchNorm(c_in, n_classes, maps=True)
                self.b2 = ConditionalBatchNorm(c_out, n_classes, maps=True)
            else:
                self.b1, self.b2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
            self.c1, self.c2 = conv3(c_in, c_out), conv3(c_out, c_out)
            self.c_sc = conv1(c_in, c_out)

        def _norm(self, norm: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
            return norm(x, labels) if self.takes_labels else norm(x)

        def residual(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            h = self.c1(up(F.relu(self._norm(self.b1, x, labels))))
            return self.c2(F.relu(self._norm(self.b2, h, labels)))

        def shortcut(self, x: torch.Tensor) -> torch.Tensor:
            return self.c_sc(up(x))

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
            return self.residual(x, labels) + self.shortcut(x)

    class DownBlock(nn.Module):
        """D's block: residual ReLU, 3x3 conv (to c_in channels), ReLU, 3x3 conv, 2x2 average
        pooling when ``down``; shortcut a 1x1 conv then the pooling, or the identity when neither
        the channels nor the size change."""

        def __init__(self, c_in: int, c_out: int, down: bool):
            super().__init__()
            self.down = down
            self.c1, self.c2 = conv3(c_in, c_in), conv3(c_in, c_out)
            self.c_sc = conv1(c_in, c_out) if down or c_in != c_out else None

        def residual(self, x: torch.Tensor) -> torch.Tensor:
            h = self.c2(F.relu(self.c1(F.relu(x))))
            return F.avg_pool2d(h, 2) if self.down else h

        def shortcut(self, x: torch.Tensor) -> torch.Tensor:
            if self.c_sc is None:
                return x
            h = self.c_sc(x)
            return F.avg_pool2d(h, 2) if self.down else h

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.residual(x) + self.shortcut(x)

    class OptimizedBlock(nn.Module):
        """D's first block (the authors' code): residual 3x3 conv, ReLU, 3x3 conv, 2x2 average
        pooling; shortcut the pooling then a 1x1 conv. No ReLU on the input images."""

        def __init__(self, c_in: int, c_out: int):
            super().__init__()
            self.c1, self.c2 = conv3(c_in, c_out), conv3(c_out, c_out)
            self.c_sc = conv1(c_in, c_out)

        def residual(self, x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(self.c2(F.relu(self.c1(x))), 2)

        def shortcut(self, x: torch.Tensor) -> torch.Tensor:
            return self.c_sc(F.avg_pool2d(x, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.residual(x) + self.shortcut(x)

    class SumPool(nn.Module):
        """Global sum pooling: (N, C, H, W) -> (N, C)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum(dim=(2, 3))

    return _Blocks(UpBlock, DownBlock, OptimizedBlock, SumPool, init_plain)


class _Blocks(NamedTuple):
    UpBlock: Any
    DownBlock: Any
    OptimizedBlock: Any
    SumPool: Any
    init_plain: Any
