"""Autoencoders: the variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational
Bayes", arXiv:1312.6114), its beta-VAE weighting (Higgins et al. 2017), and the plain autoencoder.

A family's builder returns (generator, discriminator); here that is (decoder, encoder), and the VAE
recipe (gan_cli.training.recipes.vae) trains both. The decoder is the generator of the generator
contract (gan_cli.models.contract): `decoder(z)` maps a latent of the prior N(0, I) to the mean of
p(x | z) in [-1, 1], so sample grids, `gan sample`, `gan eval`, sweeps and the EMA need nothing else.

- `model.arch=mlp`: x -> hidden widths (ReLU) -> q(z | x); the decoder mirrors them.
  `model.arch=conv`: dcgan's layout at the data's native size (28: 7 -> 14 -> 28; powers of two from
  16 to 256 start from 4x4): strided 4x4 convolutions (LeakyReLU 0.2) down to the base map in the
  encoder, a base x base transposed conv from z and 4x4 transposed convs (ReLU) up in the decoder.
  No BatchNorm: the ELBO of one image does not depend on the rest of its batch.
- `model.likelihood=bernoulli`: the decoder gives a logit per pixel of the [0, 1]-mapped image
  (dynamically binarized per batch with `model.binarize`, the standard for MNIST NLL);
  `gaussian`: a mean per pixel and a learned log-variance per pixel (a parameter, not a function of
  z), floored at one grey level's variance, for RGB and grayscale in [-1, 1].
- `model=ae`: the encoder gives a code (no variance, no KL); its samples decode a Gaussian fitted to
  its training latents (running mean and second moment, buffers of the decoder, so in every
  checkpoint): the contract's latent is a standard normal z, decoded from mean + L z with L the
  Cholesky factor of the fitted covariance.

The schema, ranges and registration are read at startup; torch is imported by the builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List  # noqa: UP035 - OmegaConf reads these annotations

from gan_cli.errors import UserError
from gan_cli.models.sizes import LATENT, MAX_LAYERS, SLOPE, UNITS
from gan_cli.registry import MAX_FLOAT, MODELS, Range

ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
CONV_SIZES = (16, 28, 32, 64, 128, 256)  # dcgan's layouts (gan_cli.models.dcgan.base_resolution)


@dataclass
class AEConfig:
    name: str = "ae"
    arch: str = "mlp"  # mlp | conv (dcgan's layout at the data's native size)
    z_dim: int = 32
    hidden: List[int] = field(default_factory=lambda: [512, 256])  # noqa: UP006 - mlp encoder widths; the decoder mirrors them
    width: int = 32  # conv: channels of the encoder's first map (the decoder's last); doubles per halving
    slope: float = 0.2  # LeakyReLU's negative slope in the conv encoder
    likelihood: str = "bernoulli"  # bernoulli (pixels in [0, 1]) | gaussian (learned per-pixel variance)
    binarize: bool = False  # bernoulli: sample each batch's pixels to 0/1 (dynamic binarization)


@dataclass
class VAEConfig(AEConfig):
    name: str = "vae"
    binarize: bool = True
    beta: float = 1.0  # weight of the KL term (Higgins et al. 2017); 1 is the plain VAE
    kl_warmup_steps: int = 0  # the KL weight grows linearly from 0 to beta over these steps; 0: off


def check(cfg: Any) -> None:
    if cfg.arch not in ARCHS:
        raise UserError(f"model.arch={cfg.arch!r} is out of range: {' or '.join(ARCHS)}")
    if cfg.likelihood not in LIKELIHOODS:
        raise UserError(f"model.likelihood={cfg.likelihood!r} is out of range: {' or '.join(LIKELIHOODS)}")
    widths = list(cfg.hidden)
    if not 1 <= len(widths) <= MAX_LAYERS:
        raise UserError(f"model.hidden={widths!r} is out of range: a list of 1 to {MAX_LAYERS} widths")


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example in one step) from the config alone, roughly."""
    elements = elements or 3 * 32 * 32
    if cfg.arch == "conv":
        width = int(cfg.width)
        return 2 * 16 * 42 * width**2 + 3 * int(cfg.z_dim) * 8 * width * 16, 4 * elements + 16 * width * 16
    layers = [elements, *map(int, cfg.hidden), 2 * int(cfg.z_dim)]
    parameters = 2 * sum(a * b for a, b in zip(layers[:-1], layers[1:], strict=True))
    return parameters, 4 * sum(layers)


RANGES = {
    "z_dim": LATENT,
    "hidden": UNITS,
    "width": Range(1, 512, note="8 x width channels at the deepest layer"),
    "slope": SLOPE,
}
VAE_RANGES = {
    **RANGES,
    "beta": Range(0.0, MAX_FLOAT),
    "kl_warmup_steps": Range(0, 10**9),
}


def _image_shape(shape: tuple[int, ...], cfg: Any) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise UserError(f"model={cfg.name} needs image data (C, H, W), got data of shape {shape}")
    channels, height, width = shape
    if cfg.arch == "conv" and (height != width or height not in CONV_SIZES):
        raise UserError(
            f"model={cfg.name} model.arch=conv cannot make {height}x{width} images: supported sizes are "
            f"square {', '.join(map(str, CONV_SIZES))}; use model.arch=mlp"
        )
    return channels, height, width


@MODELS.register(
    "vae",
    schema=VAEConfig,
    summary="variational autoencoder (Kingma & Welling 2014; model.beta: Higgins et al. 2017); recipe=vae",
    ranges=VAE_RANGES,
    kinds=("image",),
    check=check,
    size=size,
    recipes=("vae",),  # the recipes that can train it (recipe=gan cannot: its D slot is an encoder)
)
def build_vae(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    return _build(MODELS.settings(cfg, "vae"), shape, variational=True)


@MODELS.register(
    "ae",
    schema=AEConfig,
    summary="autoencoder; samples decode a Gaussian fitted to its codes; trains with recipe=vae",
    ranges=RANGES,
    kinds=("image",),
    check=check,
    size=size,
    recipes=("vae",),
)
def build_ae(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    return _build(MODELS.settings(cfg, "ae"), shape, variational=False)


def _build(c: AEConfig, shape: tuple[int, ...], variational: bool):
    """(decoder, encoder) for images of `shape`. Class labels and PacGAN packs do not apply."""
    from gan_cli.models.autoencoder import Decoder, Encoder, conv_layers, mlp_layers

    check(c)
    image_shape = _image_shape(tuple(shape), c)
    codes = 2 * c.z_dim if variational else c.z_dim
    if c.arch == "conv":
        encoder_net, decoder_net = conv_layers(image_shape, c.z_dim, codes, c.width, c.slope)
    else:
        encoder_net, decoder_net = mlp_layers(image_shape, c.z_dim, codes, c.hidden)
    encoder = Encoder(encoder_net, c.z_dim, variational)
    fitted = not variational  # an AE samples a Gaussian fitted to its codes
    decoder = Decoder(decoder_net, image_shape, c.z_dim, c.likelihood, c.binarize, fitted_prior=fitted)
    return decoder, encoder
