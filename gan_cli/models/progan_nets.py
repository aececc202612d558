"""The torch modules of model=progan (gan_cli/models/progan.py says what they are and why)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_cli.models.common import MinibatchStd

SLOPE = 0.2  # LeakyReLU everywhere but the outputs (paper, appendix A.1)


class Equalized(nn.Module):
    """A conv or dense layer with the equalized learning rate (paper sec. 4.1): weights drawn from
    N(0, 1), multiplied at run time by He's constant sqrt(gain / fan_in); biases start at 0. Adam's
    per-parameter step then moves every layer's effective weights at the same relative speed."""

    def __init__(self, layer: nn.Conv2d | nn.Linear, gain: float = 2.0):
        super().__init__()
        nn.init.normal_(layer.weight)
        nn.init.zeros_(layer.bias)
        self.layer = layer
        self.scale = math.sqrt(gain / (layer.weight[0].numel()))

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(self.layer, nn.Conv2d):
            return F.conv2d(x, self.layer.weight * self.scale, self.layer.bias, padding=self.layer.padding)
        return F.linear(x, self.layer.weight * self.scale, self.layer.bias)


def conv(c_in: int, c_out: int, kernel: int, gain: float = 2.0) -> Equalized:
    return Equalized(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), gain)


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Each pixel's (or latent's) feature vector scaled to unit mean square (paper sec. 4.2, eq. 2)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return pixel_norm(x)


def mix(old: Tensor, new: Tensor, alpha: float) -> Tensor:
    """A fade-in's output: (1 - alpha) * old + alpha * new (paper fig. 2)."""
    return torch.lerp(old, new, alpha)


class Phased(nn.Module):
    """A network whose phase (level, alpha) is state: buffers, so state_dict, checkpoints and the
    EMA copy (which copies buffers) carry it."""

    def __init__(self, sides: list[int]):
        super().__init__()
        self.sides = list(sides)
        self.register_buffer("level", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha", torch.ones(()))

    def set_phase(self, level: int, alpha: float) -> None:
        if not 0 <= level < len(self.sides):
            raise ValueError(f"level {level} is not one of 0..{len(self.sides) - 1}")
        self.level.fill_(level)
        self.alpha.fill_(alpha)

    def phase(self) -> tuple[int, float]:
        return int(self.level), float(self.alpha)

    @property
    def resolution(self) -> int:
        return self.sides[int(self.level)]


def resize(x: Tensor, side: int) -> Tensor:
    """Images to `side`: average pooling down by whole factors, nearest-neighbour up; average
    pooling undoes nearest up-sampling (up to float rounding)."""
    current = x.shape[-1]
    if side < current:
        return F.avg_pool2d(x, current // side)
    if side > current:
        return F.interpolate(x, scale_factor=side // current, mode="nearest")
    return x


def level_channels(width: int, n_levels: int, cap: int = 8) -> list[int]:
    """Channels per level, base first: `width` at the data's size, doubling per halving of the
    side up to cap x width (the paper's 512 halve above 32x32 the same way)."""
    return [width * min(2 ** (n_levels - 1 - i), cap) for i in range(n_levels)]


class ProGenerator(Phased):
    takes_labels = False

    def __init__(self, z_dim: int, width: int, channels: int, sides: list[int], pixel_norm: bool = True):
        super().__init__(sides)
        self.z_dim = z_dim
        self.shape = (channels, sides[-1], sides[-1])
        self.norm = PixelNorm() if pixel_norm else nn.Identity()
        ch = self.channels = level_channels(width, len(sides))
        base = sides[0]
        self.dense = Equalized(nn.Linear(z_dim, ch[0] * base * base), gain=2.0 / 16)  # the paper's 4x4 "conv"
        self.base_conv = conv(ch[0], ch[0], 3)
        self.blocks = nn.ModuleList(
            nn.ModuleList([conv(ch[i], ch[i + 1], 3), conv(ch[i + 1], ch[i + 1], 3)])
            for i in range(len(sides) - 1)
        )
        self.to_rgb = nn.ModuleList(conv(c, channels, 1, gain=1.0) for c in ch)

    def _act(self, x: Tensor) -> Tensor:
        return self.norm(F.leaky_relu(x, SLOPE))

    def forward(self, z: Tensor) -> Tensor:
        level, alpha = int(self.level), float(self.alpha)
        base = self.sides[0]
        latent = pixel_norm(z.reshape(z.shape[0], self.z_dim))  # z on the unit sphere's scale (paper A.1)
        x = self._act(self.dense(latent).reshape(-1, self.channels[0], base, base))
        x = self._act(self.base_conv(x))
        previous = x
        for block in self.blocks[:level]:
            previous = x
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for layer in block:
                x = self._act(layer(x))
        image = self.to_rgb[level](x)
        if level > 0 and alpha < 1.0:
            old = F.interpolate(self.to_rgb[level - 1](previous), scale_factor=2, mode="nearest")
            image = mix(old, image, alpha)
        return resize(image, self.sides[-1])


class ProDiscriminator(Phased):
    def __init__(
        self, width: int, channels: int, sides: list[int], pack: int = 1, minibatch_std: bool = True
    ):
        super().__init__(sides)
        self.shape, self.pack = (channels, sides[-1], sides[-1]), pack
        ch = self.channels = level_channels(width, len(sides))
        self.from_rgb = nn.ModuleList(conv(channels * pack, c, 1) for c in ch)
        # blocks[i] takes level i + 1's side and channels down to level i's
        self.blocks = nn.ModuleList(
            nn.ModuleList([conv(ch[i + 1], ch[i + 1], 3), conv(ch[i + 1], ch[i], 3)])
            for i in range(len(sides) - 1)
        )
        self.stddev = MinibatchStd() if minibatch_std else None
        base = sides[0]
        self.base_conv = conv(ch[0] + (1 if minibatch_std else 0), ch[0], 3)
        self.dense = Equalized(nn.Linear(ch[0] * base * base, ch[0]))
        self.head = Equalized(nn.Linear(ch[0], 1), gain=1.0)

    def _down(self, index: int, x: Tensor) -> Tensor:
        for layer in self.blocks[index]:
            x = F.leaky_relu(layer(x), SLOPE)
        return F.avg_pool2d(x, 2)

    def forward(self, x: Tensor) -> Tensor:
        level, alpha = int(self.level), float(self.alpha)
        x = resize(x, self.sides[level])
        h = F.leaky_relu(self.from_rgb[level](x), SLOPE)
        if level > 0:
            h = self._down(level - 1, h)
            if alpha < 1.0:
                old = F.leaky_relu(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), SLOPE)
                h = mix(old, h, alpha)
            for index in range(level - 2, -1, -1):
                h = self._down(index, h)
        if self.stddev is not None:
            h = self.stddev(h)
        h = F.leaky_relu(self.base_conv(h), SLOPE)
        h = F.leaky_relu(self.dense(h.flatten(1)), SLOPE)
        return self.head(h).reshape(-1)
