"""Helpers shared by the model families: reading config fields, weight init, spectral norm."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan_cli.errors import UserError


def _raw_field(cfg, key: str, default):
    # A missing key and an explicit null both mean "use the default", whatever the
    # config object is (DictConfig in struct mode raises AttributeError for missing keys).
    value = getattr(cfg, key, None)
    return default if value is None else value


def int_field(cfg, key: str, default: int, minimum: int = 1) -> int:
    value = _raw_field(cfg, key, default)
    # bool is an int subclass; `z_dim: true` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"model.{key}={value!r} is invalid: expected an integer >= {minimum}")
    return value


def float_field(cfg, key: str, default: float, minimum: float = 0.0) -> float:
    value = _raw_field(cfg, key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise UserError(f"model.{key}={value!r} is invalid: expected a number >= {minimum}")
    if not math.isfinite(value):
        raise UserError(f"model.{key}={value!r} is invalid: expected a finite number")
    return float(value)


def bool_field(cfg, key: str, default: bool) -> bool:
    value = _raw_field(cfg, key, default)
    # bool("false") is True, so strings must not be coerced.
    if not isinstance(value, bool):
        raise UserError(f"model.{key}={value!r} is invalid: expected true or false")
    return value


def int_list_field(cfg, key: str, default: list[int]) -> list[int]:
    value = _raw_field(cfg, key, default)
    # OmegaConf hands lists over as ListConfig: iterate rather than check for `list`.
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise UserError(f"model.{key}={value!r} is invalid: expected a list of integers >= 1")
    items = list(value)
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in items):
        raise UserError(f"model.{key}={items!r} is invalid: expected a list of integers >= 1")
    return items


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
