"""Likelihood math of latent-variable models, as pure functions of tensors (all in nats).

- The ELBO (Kingma & Welling 2014, eq. 10): log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z)),
  with q = N(mean, diag(exp(log_var))) and p(z) = N(0, I); the KL in closed form (their appendix B):
  KL = 1/2 sum_j (mean_j^2 + exp(log_var_j) - 1 - log_var_j).
- The importance-weighted bound (Burda, Grosse & Salakhutdinov 2016, eq. 8):
  L_k = log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x); L_1 is the ELBO's one-sample
  estimate, E[L_k] <= E[L_{k+1}] <= log p(x), so -L_k is an upper bound on the NLL.

Every log-probability is per example, summed over its pixels (or latent dimensions): shape (N,).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2 * math.pi)
# A Gaussian decoder's log-variance floor: the variance of one grey level (2/255 in [-1, 1]). Without
# it a pixel that never changes (MNIST's background) drives its variance, and the likelihood, to
# infinity.
MIN_LOG_VAR = 2 * math.log(2 / 255)


def _per_example(values: torch.Tensor) -> torch.Tensor:
    return values.flatten(1).sum(1)


def bernoulli_log_prob(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """log p(target | logits) = sum target log sigmoid(l) + (1 - target) log sigmoid(-l), per example;
    target in [0, 1] (a grey target gives the cross-entropy, as for a non-binarized AE)."""
    return -_per_example(F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none"))


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))) per example; log_var broadcasts (one per pixel, shared)."""
    x, mean, log_var = x.float(), mean.float(), log_var.float()
    return -0.5 * _per_example(LOG_2PI + log_var + (x - mean) ** 2 * torch.exp(-log_var))


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) per example."""
    return -0.5 * _per_example(LOG_2PI + z.float() ** 2)


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per example, in closed form."""
    mean, log_var = mean.float(), log_var.float()
    return 0.5 * _per_example(mean**2 + torch.exp(log_var) - 1 - log_var)


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """z = mean + exp(log_var / 2) * noise, noise ~ N(0, I): differentiable in mean and log_var."""
    return mean + torch.exp(0.5 * log_var) * noise


def elbo(log_likelihood: torch.Tensor, kl: torch.Tensor) -> torch.Tensor:
    """The ELBO per example: E_q log p(x | z) (its estimate) - KL(q || p)."""
    return log_likelihood - kl


def log_mean_exp(log_weights: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log (1/k) sum_i exp(w_i) along `dim`, stably."""
    return torch.logsumexp(log_weights, dim=dim) - math.log(log_weights.shape[dim])


def iwae_bound(
    mean: torch.Tensor,
    log_var: torch.Tensor,
    log_likelihood: Callable[[torch.Tensor], torch.Tensor],
    k: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """L_k per example (N,); see bounds."""
    return bounds(mean, log_var, log_likelihood, k, generator)[0]


def bounds(
    mean: torch.Tensor,
    log_var: torch.Tensor,
    log_likelihood: Callable[[torch.Tensor], torch.Tensor],
    k: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_k, ELBO) per example (N,) for q = N(mean, diag(exp(log_var))) (each (N, D)) and a
    decoder's log_likelihood(z) -> log p(x | z) (N,), one latent per example. The k latents of each
    example are drawn one set at a time (from `generator`, on the CPU, when given), so memory stays
    one batch's: log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x). The ELBO is the mean of
    log p(x | z_i) over the same k latents minus the closed-form KL."""
    mean, log_var = mean.float(), log_var.float()
    std = torch.exp(0.5 * log_var)
    weights, fits = [], []
    for _ in range(int(k)):
        noise = torch.randn(mean.shape, generator=generator).to(mean.device)
        z = mean + std * noise
        fit = log_likelihood(z)
        log_q = -0.5 * _per_example(LOG_2PI + log_var + noise**2)
        weights.append(fit + standard_normal_log_prob(z) - log_q)
        fits.append(fit)
    bound = log_mean_exp(torch.stack(weights), dim=0)
    return bound, torch.stack(fits).mean(0) - gaussian_kl(mean, log_var)


@torch.no_grad()
def model_bounds(
    decoder, encoder, images_u8: torch.Tensor, k: int, seed: int = 0, batch_size: int = 500
) -> dict[str, float]:
    """{"nll": -mean L_k, "elbo": mean ELBO} in nats per image of a VAE (gan_cli.models.autoencoder's
    Decoder and Encoder, duck-typed: target, encoder_input, decode, log_likelihood) over uint8
    images (N, C, H, W). A Bernoulli decoder's binarization and the latents are drawn from `seed`,
    so the same model and images give the same numbers."""
    device = next(iter(encoder.parameters())).device
    generator = torch.Generator().manual_seed(int(seed))
    modes = decoder.training, encoder.training
    decoder.eval(), encoder.eval()
    totals = torch.zeros(2, dtype=torch.float64)
    try:
        for images in images_u8.split(batch_size):
            target = decoder.target(images.cpu().float() / 127.5 - 1, generator=generator).to(device)
            mean, log_var = encoder(decoder.encoder_input(target))

            def fit(z: torch.Tensor, target: torch.Tensor = target) -> torch.Tensor:
                return decoder.log_likelihood(decoder.decode(z), target)

            bound, lower = bounds(mean, log_var, fit, k, generator)
            totals += torch.stack((bound.sum(), lower.sum())).double().cpu()
    finally:
        decoder.train(modes[0]), encoder.train(modes[1])
    count = images_u8.shape[0]
    return {"nll": -float(totals[0]) / count, "elbo": float(totals[1]) / count}
