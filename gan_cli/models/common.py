"""What the model families' networks share: the generator and discriminator modules around a
family's layers, weight init, spectral norm, PacGAN packing, the minibatch-std layer.

This module imports torch; a family's own file does not (it imports this one inside its builder),
so registering the families costs nothing at startup.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al. 2015, sec. 4: weights from N(0, 0.02). BN scales from N(1, 0.02)
    follow the DCGAN reference implementations (the paper does not say).

    Apply with ``model.apply(init_dcgan_weights)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        # N(1, 0.02) rather than N(0, 0.02): a near-zero scale would switch units off at start.
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) on every Linear and Conv2d of ``module``,
    the output layer included: the paper bounds the Lipschitz constant of the whole D, which
    needs every layer's. Returns ``module``.

    Call after the weights are initialized: the parametrization then normalizes the initial
    weights (and its power iteration starts from them). The parametrization API, unlike the
    older torch.nn.utils.spectral_norm hook, keeps the state_dict plain tensors
    (``...parametrizations.weight.original``, ``_u``, ``_v``), loadable with weights_only.
    """
    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    for layer in layers:
        spectral_norm(layer)
    return module


def pack_samples(x, pack: int):
    """PacGAN (Lin et al. 2018, sec. 3): D judges ``pack`` samples at once, concatenated along the
    features of a vector or the channels of an image. Consecutive samples form one pack, so a
    batch of real then fake samples packs real with real and fake with fake when ``pack`` divides
    each part. (N, F) -> (N / pack, pack * F); (N, C, H, W) -> (N / pack, pack * C, H, W).
    A view, no copy, for a contiguous batch; pack=1 returns ``x`` itself."""
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise ValueError(f"a batch of {x.shape[0]} cannot be split into packs of {pack}")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Karras et al. 2018 (ProGAN, sec. 3): the standard deviation of each feature (and pixel)
    over the batch, averaged to one number and appended as one more constant feature (map), so
    D can see a batch with too little variety. Over the whole batch (a group of all samples).

    D's batch must then hold one kind of sample: the trainer does not fuse real and fake in one
    D forward when D has this layer (``mixes_batch``), as with BatchNorm."""

    mixes_batch = True

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        # population variance (1/N), as in the paper's reference code; eps keeps the sqrt's
        # gradient finite for a batch of one or of identical samples
        std = (x.var(dim=0, unbiased=False) + self.eps).sqrt().mean()
        extra = std.expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat((x, extra.to(x.dtype)), dim=1)


class Generator(nn.Module):
    """latents (N, z_dim) -> samples (N, *shape) through a family's layers `net`, which take each
    latent as `latent_shape` ((z_dim,) for dense layers, (z_dim, 1, 1) for transposed convs).
    Unconditional: forward(z) (the generator contract, gan_cli.models.contract)."""

    takes_labels = False

    def __init__(
        self, net: nn.Module, shape: tuple[int, ...], z_dim: int, latent_shape: tuple[int, ...] = ()
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.z_dim = z_dim
        self.latent_shape = tuple(latent_shape) or (z_dim,)
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # reshape to a shape a tensor already has is a view of it, whatever its memory layout
        return self.net(z.reshape(z.shape[0], *self.latent_shape)).reshape(z.shape[0], *self.shape)


class Discriminator(nn.Module):
    """samples (N, *shape), or packs of `pack` samples (pack_samples), -> raw logits (N,) through
    a family's layers `net`, which end in one output per example."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...], pack: int = 1):
        super().__init__()
        self.shape = tuple(shape)
        self.pack = pack
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])
