"""Discriminator regularizers, combinable with any loss in gan_cli.training.losses.

Pure functions of a discriminator and tensors; the trainer decides when to call them and
adds them, weighted, to D's loss:

    d_loss = loss.d_loss(real_logits, fake_logits)
    if loss.gp_lambda:
        d_loss = d_loss + loss.gp_lambda * gradient_penalty(D, real, fake)
    if loss.r1_gamma and step % loss.r1_every == 0:
        real.requires_grad_(True)                     # before D(real)
        real_logits = D(real)
        d_loss = d_loss + lazy_weight(loss.r1_gamma, loss.r1_every) * r1_penalty(real_logits, real)
    ... d_opt.step()
    if loss.clip:
        clip_weights_(D, loss.clip)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _per_sample_norm(grad: Tensor) -> Tensor:
    # The gradient of one sample is one vector over all its non-batch dims (pixels and
    # channels together), as in both papers.
    return torch.linalg.vector_norm(grad.flatten(1), ord=2, dim=1)


def gradient_penalty(
    discriminator: nn.Module,
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
    labels: Tensor | None = None,
) -> Tensor:
    """WGAN-GP, Gulrajani et al. 2017, Algorithm 1: E[(||grad D(x_hat)||_2 - 1)^2] with
    x_hat = alpha x + (1 - alpha) G(z), alpha ~ U(0, 1).

    alpha is drawn once per sample and broadcast over its pixels: x_hat must lie on the
    segment between a real and a fake sample, which is where the optimal critic has unit
    gradient norm (Proposition 1). A per-pixel alpha would leave that segment.

    The penalty keeps D's graph (create_graph) so it trains D; G gets no gradient from it
    (both inputs are detached). ``generator`` seeds alpha (tests); it may live on the CPU
    while the data is on another device. Multiply by loss.gp_lambda (10 in the paper).
    ``labels``: for a conditional D (model.cond concat or projection), the labels real and fake
    share; D judges each interpolate under its pair's label.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have one shape")
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    draw_on = generator.device if generator is not None else real.device
    alpha = torch.rand(shape, generator=generator, device=draw_on, dtype=real.dtype).to(real.device)
    x_hat = torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)
    logits = discriminator(x_hat) if labels is None else discriminator(x_hat, labels)
    (grad,) = torch.autograd.grad(logits.sum(), x_hat, create_graph=True)
    return (_per_sample_norm(grad) - 1.0).square().mean()


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """R1, Mescheder et al. 2018, sec. 4.1: E[||grad_x D(x)||^2] over real data, without the
    gamma / 2 (see lazy_weight). Pushes D's gradient on the data towards zero, which makes
    the game locally convergent.

    ``real`` must require grad before D sees it: the caller does real.requires_grad_(True)
    and then real_logits = D(real). The graph is kept so the penalty trains D.
    """
    if not real.requires_grad:
        raise ValueError("r1_penalty needs real.requires_grad_(True) before real_logits = D(real)")
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).square().sum(dim=1).mean()


def lazy_weight(gamma: float, every: int) -> float:
    """Weight for r1_penalty when it runs only every ``every`` D steps: gamma / 2 * every.

    gamma / 2 is Mescheder's R1 weight; multiplying by the interval is Karras et al. 2020
    (StyleGAN2, sec. 3.1 "lazy regularization"), so the penalty's average strength per step
    stays that of a penalty applied every step. every=1 is the plain R1.
    """
    if every < 1:
        raise ValueError(f"every={every}: the R1 interval is a number of steps >= 1")
    return gamma / 2 * every


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` into [-c, c], in place: the WGAN critic's crude
    Lipschitz constraint (Arjovsky et al. 2017, Algorithm 1, c = 0.01). Call after each
    critic optimizer step."""
    if not c > 0:
        raise ValueError(f"c={c}: the clipping bound must be > 0")
    for param in module.parameters():
        param.clamp_(-c, c)
