"""Adversarial objectives as pure functions of discriminator logits.

Logits, never probabilities: log sigmoid(t) = -softplus(-t) is finite for any t, whereas
Sigmoid followed by BCELoss saturates to log(0) for confident discriminators.

Every loss has the same two call shapes, so the trainer never branches on the name:
``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits, real_logits=None)``; only
losses with ``g_needs_real`` read the second argument of ``g_loss``. Regularizers (gradient
penalty, R1, weight clipping) live in ``gan_cli.training.penalties``; their weights travel on the
``GANLoss`` so the trainer gets everything it needs from ``build(cfg.loss)``.

Each loss registers in gan_cli.registry.LOSSES with its schema (the keys of its YAML file) and
ranges. torch is imported inside the functions, so registering costs nothing at startup.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_cli.errors import UserError
from gan_cli.registry import LOSSES, MAX_FLOAT, Range

if TYPE_CHECKING:
    from torch import Tensor


# ---- the config keys ----------------------------------------------------------------------------
@dataclass
class LossConfig:
    """Keys every loss has: the regularizers (gan_cli.training.penalties) combine with any objective."""

    name: str = "???"
    gp_lambda: float = (
        0.0  # WGAN-GP (Gulrajani et al. 2017): lambda * E[(||grad D(x_hat)||_2 - 1)^2], paper: 10
    )
    r1_gamma: float = 0.0  # R1 (Mescheder et al. 2018): gamma/2 * E[||grad D(x)||^2] on real data
    r1_every: int = 1  # R1 every k D steps with its weight times k (lazy, Karras et al. 2020; StyleGAN2: 16)
    clip: float = 0.0  # weight clipping to [-clip, clip], wgan only (Arjovsky et al. 2017: 0.01)
    # AC-GAN (Odena et al. 2017): weight of the class cross-entropy, D's on real images' labels and
    # G's on its fakes' requested labels; read only with model.cond=acgan
    ac_weight: float = 1.0


_WEIGHT = Range(0.0, MAX_FLOAT, note="0 = off")
REGULARIZER_RANGES = {
    "gp_lambda": _WEIGHT,
    "r1_gamma": _WEIGHT,
    "r1_every": Range(1, 10**6, note="D steps between R1 updates"),
    "clip": _WEIGHT,
    "ac_weight": _WEIGHT,
}
_TARGET = Range(-MAX_FLOAT, MAX_FLOAT)


# The losses without keys of their own: LossConfig under their names.
@dataclass
class NSLoss(LossConfig):
    name: str = "ns"


@dataclass
class MinimaxLoss(LossConfig):
    name: str = "minimax"


@dataclass
class HingeLoss(LossConfig):
    name: str = "hinge"


@dataclass
class RelativisticLoss(LossConfig):
    name: str = "relativistic"


# ---- non-saturating and minimax (Goodfellow et al. 2014) ----------------------------------------
def ns_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of Goodfellow et al. 2014: -E[log D(x)] - E[log(1 - D(G(z)))],
    with D = sigmoid(logit): -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t)."""
    import torch.nn.functional as F

    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def ns_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014, sec. 3): -E[log D(G(z))]."""
    import torch.nn.functional as F

    return F.softplus(-fake_logits).mean()


# The minimax game shares D's objective with the non-saturating one; only G differs.
minimax_d_loss = ns_d_loss


def minimax_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """Saturating generator loss, the game as written in Goodfellow et al. 2014, eq. 1:
    G minimizes E[log(1 - D(G(z)))] = E[-softplus(t)]. Its gradient sigmoid(t) vanishes
    exactly when D rejects the fakes confidently, which is why the paper recommends ns."""
    import torch.nn.functional as F

    return -F.softplus(fake_logits).mean()


# ---- least squares (Mao et al. 2017) ------------------------------------------------------------
LSGAN_A, LSGAN_B, LSGAN_C = -1.0, 1.0, 0.0


def lsgan_d_loss(real_logits: Tensor, fake_logits: Tensor, a: float = LSGAN_A, b: float = LSGAN_B) -> Tensor:
    """Mao et al. 2017, eq. 2: 0.5 E[(D(x) - b)^2] + 0.5 E[(D(G(z)) - a)^2] on D's raw output.

    a is the target for fakes, b for real data. The defaults -1/1/0 are the paper's
    Pearson chi^2 setting (b - c = 1, b - a = 2, sec. 3.2.2); 0/1/1 is the other (same sec.)."""
    return 0.5 * (real_logits - b).square().mean() + 0.5 * (fake_logits - a).square().mean()


def lsgan_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None, c: float = LSGAN_C) -> Tensor:
    """Mao et al. 2017, eq. 2: 0.5 E[(D(G(z)) - c)^2], c the value G wants D to believe."""
    return 0.5 * (fake_logits - c).square().mean()


# ---- hinge (Lim & Ye 2017; Miyato et al. 2018) --------------------------------------------------
def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Lim & Ye 2017 (Geometric GAN), Miyato et al. 2018, sec. 4:
    E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]: D stops pushing once a sample is past its margin."""
    import torch.nn.functional as F

    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """Miyato et al. 2018, sec. 4: -E[D(G(z))] (the same generator loss as WGAN's)."""
    return -fake_logits.mean()


# ---- Wasserstein (Arjovsky et al. 2017) ----------------------------------------------------------
def wgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Arjovsky et al. 2017, Algorithm 1: the critic maximizes E[D(x)] - E[D(G(z))], i.e. minimizes
    E[D(G(z))] - E[D(x)]. Only meaningful for a Lipschitz critic: pair it with weight clipping,
    the gradient penalty or spectral norm."""
    return fake_logits.mean() - real_logits.mean()


wgan_g_loss = hinge_g_loss


# ---- relativistic average (Jolicoeur-Martineau 2018) ---------------------------------------------
def relativistic_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """RaSGAN, Jolicoeur-Martineau 2018, sec. 4.3 (standard form):
    -E[log sigmoid(C(x) - E C(G(z)))] - E[log(1 - sigmoid(C(G(z)) - E C(x)))].
    D judges whether real data is more realistic than the average fake, and vice versa."""
    import torch.nn.functional as F

    return (
        F.softplus(fake_logits.mean() - real_logits).mean()
        + F.softplus(fake_logits - real_logits.mean()).mean()
    )


def relativistic_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """RaSGAN generator (sec. 4.3): D's loss with real and fake swapped. Unlike the other losses, G
    also gets a gradient through the real logits' term, so real_logits is required."""
    if real_logits is None:
        raise ValueError("the relativistic generator loss needs real_logits (GANLoss.g_needs_real)")
    return relativistic_d_loss(fake_logits, real_logits)


# ---- D's output for the logs ---------------------------------------------------------------------
def discriminator_confidence(logits: Tensor) -> Tensor:
    """Mean D output as a probability (D(x), D(G(z)) in the logs), kept on the device."""
    import torch

    return torch.sigmoid(logits.detach()).mean()


def discriminator_score(logits: Tensor) -> Tensor:
    """Mean raw D output, for losses whose D is a score or critic rather than a classifier
    (sigmoid of a WGAN critic value means nothing), kept on the device."""
    return logits.detach().mean()


def class_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """AC-GAN's class term (Odena et al. 2017, eq. 2, L_C): mean cross-entropy of D's class
    logits (N, n_classes) against integer labels (N,). On raw logits: cross_entropy applies
    log_softmax itself, and a Softmax layer before it (PyTorch-GAN #141) would squash the gradient."""
    import torch.nn.functional as F

    return F.cross_entropy(class_logits.float(), labels)


# ---- the bundle the trainer gets ----------------------------------------------------------------
@dataclass(frozen=True)
class GANLoss:
    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[..., Tensor]
    # whether g_loss reads the real logits too (relativistic losses); the trainer skips D(real) otherwise
    g_needs_real: bool = False
    # whether sigmoid(logit) is D's probability that the input is real (classifier losses), or the
    # raw output is a score (lsgan, hinge, wgan); decides what d_output shows
    logits_are_probabilities: bool = True
    # regularizer settings from the loss config (gan_cli.training.penalties computes them); 0 means off
    gp_lambda: float = 0.0
    r1_gamma: float = 0.0
    r1_every: int = 1
    clip: float = 0.0
    ac_weight: float = 1.0

    def d_output(self, logits: Tensor) -> Tensor:
        """The D(x) / D(G(z)) shown in the logs: mean probability for classifier losses, mean raw
        score otherwise. A 0-dim tensor on the logits' device, detached, no host sync."""
        if self.logits_are_probabilities:
            return discriminator_confidence(logits)
        return discriminator_score(logits)


# ---- the registered losses ----------------------------------------------------------------------
# Each builder looks its functions up when it runs (module globals), so a test that patches
# losses.ns_d_loss changes what the trainer gets.
@LOSSES.register(
    "ns", schema=NSLoss, summary="non-saturating (Goodfellow et al. 2014)", ranges=REGULARIZER_RANGES
)
def _ns(cfg: object) -> GANLoss:
    return GANLoss("ns", ns_d_loss, ns_g_loss)


@LOSSES.register(
    "minimax",
    schema=MinimaxLoss,
    summary="the saturating minimax game as written (Goodfellow et al. 2014, eq. 1)",
    ranges=REGULARIZER_RANGES,
)
def _minimax(cfg: object) -> GANLoss:
    return GANLoss("minimax", minimax_d_loss, minimax_g_loss)


@dataclass
class LSGANLoss(LossConfig):
    name: str = "lsgan"
    a: float = LSGAN_A  # D's target for fakes
    b: float = LSGAN_B  # D's target for real data
    c: float = LSGAN_C  # the value G wants D to give its fakes


def _check_lsgan(cfg) -> None:
    if cfg.a == cfg.b:
        raise UserError(
            f"loss.a={cfg.a} equals loss.b: D's targets for fake and real data must differ "
            "(Mao et al. 2017 use a=-1 b=1 c=0, or a=0 b=1 c=1)"
        )


@LOSSES.register(
    "lsgan",
    schema=LSGANLoss,
    summary="least squares on D's raw output (Mao et al. 2017)",
    ranges={**REGULARIZER_RANGES, "a": _TARGET, "b": _TARGET, "c": _TARGET},
    check=_check_lsgan,
)
def _lsgan(cfg: object) -> GANLoss:
    c = LOSSES.settings(cfg, "lsgan")
    return GANLoss(
        "lsgan",
        functools.partial(lsgan_d_loss, a=c.a, b=c.b),
        functools.partial(lsgan_g_loss, c=c.c),
        logits_are_probabilities=False,
    )


@LOSSES.register(
    "hinge", schema=HingeLoss, summary="hinge (Lim & Ye 2017; SN-GAN)", ranges=REGULARIZER_RANGES
)
def _hinge(cfg: object) -> GANLoss:
    return GANLoss("hinge", hinge_d_loss, hinge_g_loss, logits_are_probabilities=False)


@dataclass
class WGANLoss(LossConfig):
    name: str = "wgan"
    clip: float = (
        0.01  # the paper's weight clipping (Arjovsky et al. 2017); WGAN-GP: loss.clip=0 loss.gp_lambda=10
    )


# Weight clipping bounds a critic's Lipschitz constant; a classifier or margin loss gains nothing
# from it but capacity loss (Arjovsky et al. 2017 clip only the WGAN critic): `clips` says which.
@LOSSES.register(
    "wgan",
    schema=WGANLoss,
    summary="Wasserstein critic (Arjovsky et al. 2017); needs clip, gp_lambda or spectral norm",
    ranges=REGULARIZER_RANGES,
    clips=True,
    needs_lipschitz=True,
)
def _wgan(cfg: object) -> GANLoss:
    return GANLoss("wgan", wgan_d_loss, wgan_g_loss, logits_are_probabilities=False)


@LOSSES.register(
    "relativistic",
    schema=RelativisticLoss,
    summary="relativistic average standard GAN (Jolicoeur-Martineau 2018)",
    ranges=REGULARIZER_RANGES,
)
def _relativistic(cfg: object) -> GANLoss:
    return GANLoss("relativistic", relativistic_d_loss, relativistic_g_loss, g_needs_real=True)


def available() -> list[str]:
    return LOSSES.names()


def build(cfg) -> GANLoss:
    """The loss `cfg.name` with the regularizer settings of cfg (a DictConfig or any attribute
    object; absent keys take the schema's defaults)."""
    settings = LOSSES.settings(cfg)
    loss = LOSSES.get(settings.name).builder(cfg)
    # Regularizers combine with any loss, so they are read once here rather than per builder.
    return dataclasses.replace(
        loss,
        gp_lambda=settings.gp_lambda,
        r1_gamma=settings.r1_gamma,
        r1_every=settings.r1_every,
        clip=settings.clip,
        ac_weight=settings.ac_weight,
    )
