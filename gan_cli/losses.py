"""Adversarial objectives as pure functions of discriminator logits.

Logits, never probabilities: log sigmoid(t) = -softplus(-t) is finite for any t, whereas
Sigmoid followed by BCELoss saturates to log(0) for confident discriminators.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gan_cli.errors import UserError


def ns_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of Goodfellow et al. 2014: -E[log D(x)] - E[log(1 - D(G(z)))],
    with D = sigmoid(logit): -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def ns_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014, sec. 3): -E[log D(G(z))]."""
    return F.softplus(-fake_logits).mean()


@dataclass(frozen=True)
class GANLoss:
    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[..., Tensor]
    # whether g_loss reads the real logits too (relativistic losses); the trainer skips D(real) otherwise
    g_needs_real: bool = False


_LOSSES: dict[str, Callable[[object], GANLoss]] = {}


def register(name: str):
    def decorator(factory: Callable[[object], GANLoss]) -> Callable[[object], GANLoss]:
        _LOSSES[name] = factory
        return factory

    return decorator


def available() -> list[str]:
    return sorted(_LOSSES)


@register("ns")
def _ns(cfg: object) -> GANLoss:
    return GANLoss("ns", ns_d_loss, ns_g_loss)


def build(cfg) -> GANLoss:
    if cfg.name not in _LOSSES:
        raise UserError(f"unknown loss '{cfg.name}'; valid losses: {', '.join(available())}")
    return _LOSSES[cfg.name](cfg)


def discriminator_confidence(logits: Tensor) -> Tensor:
    """Mean D output as a probability (D(x), D(G(z)) in the logs), kept on the device."""
    return torch.sigmoid(logits.detach()).mean()
