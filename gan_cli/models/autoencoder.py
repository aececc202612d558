"""The torch modules of the autoencoder families (gan_cli.models.vae): encoder, decoder, layers.

Encoder: images (N, C, H, W) in [-1, 1] -> (mean, log-variance) of q(z | x), each (N, z_dim); an
AE's encoder gives (code, None).

Decoder (the generator contract): `decoder(z)` -> the mean of p(x | z) as an image in [-1, 1];
`decoder.decode(code)` -> the likelihood's raw parameters (Bernoulli logits, or the Gaussian mean),
`decoder.log_likelihood(out, target)` -> log p(target | code) per image, summed over pixels;
`decoder.target(x, generator)` -> what the likelihood scores for the images x (Bernoulli: x mapped
to [0, 1], sampled to 0/1 when binarized; Gaussian: x). An AE's decoder also holds the Gaussian
fitted to its training codes (`fit_codes`), and `decoder(z)` decodes mean + L z.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_cli.metrics import likelihood

# An AE's fitted Gaussian follows its training codes with this momentum per step (at least
# N / codes seen, so the first steps set it outright): about the last 100 batches.
LATENT_MOMENTUM = 0.01


def mlp_layers(shape: tuple[int, int, int], z_dim: int, codes: int, hidden: list[int]):
    """(encoder net: image -> `codes` numbers, decoder net: z -> C*H*W numbers), ReLU between."""
    pixels = math.prod(shape)
    layers: list[nn.Module] = [nn.Flatten()]
    features = pixels
    for width in hidden:
        layers += [nn.Linear(features, width), nn.ReLU()]
        features = width
    encoder = nn.Sequential(*layers, nn.Linear(features, codes))
    layers, features = [], z_dim
    for width in reversed(hidden):
        layers += [nn.Linear(features, width), nn.ReLU()]
        features = width
    decoder = nn.Sequential(*layers, nn.Linear(features, pixels), nn.Unflatten(1, shape))
    return encoder, decoder


def conv_layers(shape: tuple[int, int, int], z_dim: int, codes: int, width: int, slope: float):
    """dcgan's layout (gan_cli.models.dcgan) without BatchNorm: the encoder is D's trunk ending in a
    conv over the base map to `codes` numbers; the decoder is G's, ending in raw outputs."""
    from gan_cli.models.dcgan import base_resolution, hidden_channels

    image_channels, image_size, _ = shape
    channels = hidden_channels(image_size, width)  # base map first, as in G
    base = base_resolution(image_size)
    down = channels[::-1]
    layers: list[nn.Module] = [nn.Conv2d(image_channels, down[0], 4, 2, 1), nn.LeakyReLU(slope)]
    for in_ch, out_ch in zip(down[:-1], down[1:], strict=True):
        layers += [nn.Conv2d(in_ch, out_ch, 4, 2, 1), nn.LeakyReLU(slope)]
    encoder = nn.Sequential(*layers, nn.Conv2d(down[-1], codes, kernel_size=base), nn.Flatten())
    layers = [nn.Unflatten(1, (z_dim, 1, 1)), nn.ConvTranspose2d(z_dim, channels[0], base), nn.ReLU()]
    for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
        layers += [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1), nn.ReLU()]
    decoder = nn.Sequential(*layers, nn.ConvTranspose2d(channels[-1], image_channels, 4, 2, 1))
    return encoder, decoder


class Encoder(nn.Module):
    """x -> (mean, log-variance) of q(z | x) (variational), or (code, None) (an AE)."""

    def __init__(self, net: nn.Module, z_dim: int, variational: bool):
        super().__init__()
        self.net, self.z_dim, self.variational = net, int(z_dim), bool(variational)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.net(x)
        if not self.variational:
            return out, None
        mean, log_var = out.chunk(2, dim=1)
        return mean, log_var


class Decoder(nn.Module):
    """The generator of an autoencoder family (see the module docstring)."""

    def __init__(
        self,
        net: nn.Module,
        shape: tuple[int, int, int],
        z_dim: int,
        kind: str = "bernoulli",
        binarize: bool = False,
        fitted_prior: bool = False,
    ):
        super().__init__()
        self.net, self.shape, self.z_dim = net, tuple(shape), int(z_dim)
        self.likelihood, self.binarize = kind, bool(binarize) and kind == "bernoulli"
        self.log_var = nn.Parameter(torch.zeros(self.shape)) if kind == "gaussian" else None
        self.fitted_prior = bool(fitted_prior)
        if self.fitted_prior:
            self.register_buffer("code_mean", torch.zeros(self.z_dim))
            self.register_buffer("code_moment", torch.eye(self.z_dim))  # E[c c^T]
            self.register_buffer("codes_seen", torch.zeros(()))

    # ---- the likelihood p(x | code) -------------------------------------------------------------------
    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """The likelihood's raw parameters for each code: logits (Bernoulli) or means (Gaussian)."""
        return self.net(code).reshape(code.shape[0], *self.shape)

    def pixel_log_var(self) -> torch.Tensor | None:
        return None if self.log_var is None else self.log_var.clamp(min=likelihood.MIN_LOG_VAR)

    def log_likelihood(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """log p(target | code) per image (N,), from decode's output, summed over pixels."""
        if self.likelihood == "bernoulli":
            return likelihood.bernoulli_log_prob(out, target)
        return likelihood.gaussian_log_prob(target, out, self.pixel_log_var())

    def target(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What the likelihood scores for images x in [-1, 1]: Bernoulli pixels in [0, 1] (sampled to
        0/1 with `binarize`, from `generator` when given), Gaussian pixels as they are."""
        if self.likelihood != "bernoulli":
            return x
        unit = ((x.float() + 1) / 2).clamp_(0, 1)
        return torch.bernoulli(unit, generator=generator) if self.binarize else unit

    def encoder_input(self, target: torch.Tensor) -> torch.Tensor:
        """The image the encoder reads for a likelihood target: back in [-1, 1]."""
        return target * 2 - 1 if self.likelihood == "bernoulli" else target

    def mean_image(self, out: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | code) as an image in [-1, 1]."""
        return torch.sigmoid(out) * 2 - 1 if self.likelihood == "bernoulli" else out.clamp(-1, 1)

    # ---- the generator contract ------------------------------------------------------------------------
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.fitted_prior:
            z = self.code_mean + z @ self.code_scale().T
        return self.mean_image(self.decode(z))

    # ---- an AE's fitted Gaussian -----------------------------------------------------------------------
    @torch.no_grad()
    def fit_codes(self, codes: torch.Tensor) -> None:
        """Move the fitted Gaussian towards a batch of training codes (N, z_dim): running mean and
        second moment, momentum max(LATENT_MOMENTUM, N / codes seen). On the device, no host sync."""
        codes = codes.detach().float()
        n = codes.shape[0]
        self.codes_seen += n
        weight = torch.clamp(n / self.codes_seen, min=LATENT_MOMENTUM)
        self.code_mean.lerp_(codes.mean(0), weight)
        self.code_moment.lerp_(codes.T @ codes / n, weight)

    def code_covariance(self) -> torch.Tensor:
        mean = self.code_mean
        return self.code_moment - torch.outer(mean, mean)

    def code_scale(self) -> torch.Tensor:
        """L with L L^T the fitted covariance (a little jitter keeps it positive definite)."""
        cov = self.code_covariance()
        eye = torch.eye(self.z_dim, device=cov.device, dtype=cov.dtype)
        jitter = 1e-6 * (cov.diagonal().mean().abs() + 1e-6)
        factor, info = torch.linalg.cholesky_ex(cov + jitter * eye)
        if int(info) != 0:  # not positive definite: the diagonal alone
            factor = torch.diag(cov.diagonal().clamp(min=0).sqrt())
        return factor


@torch.no_grad()
def reconstruct(decoder: Decoder, encoder: Encoder, images: torch.Tensor) -> torch.Tensor:
    """The decoder's mean image of each image's code (q's mean for a VAE), in [-1, 1]. The encoder
    reads the images as they are, in [-1, 1] (not binarized)."""
    device = next(iter(encoder.parameters())).device
    code, _ = encoder(images.to(device).float())
    return decoder.mean_image(decoder.decode(code))


def paired_rows(images: torch.Tensor, reconstructions: torch.Tensor, per_row: int) -> torch.Tensor:
    """Images over their reconstructions: each run of `per_row` images, then the same run
    reconstructed, as one batch for a grid of `per_row` columns (a short last run is padded black)."""
    rows = []
    for start in range(0, images.shape[0], per_row):
        for part in (images, reconstructions):
            row = part[start : start + per_row].detach().float().cpu()
            pad = per_row - row.shape[0]
            rows.append(torch.cat((row, -torch.ones(pad, *row.shape[1:]))) if pad else row)
    return torch.cat(rows)
