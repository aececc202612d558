"""The likelihood math (gan_cli.metrics.likelihood) against the formulas and a model whose
log p(x) is known in closed form."""

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from gan_cli.metrics import likelihood


def test_closed_form_kl_matches_the_formula_and_torch():
    mean, log_var = torch.tensor([[0.5, -1.0], [0.0, 0.0]]), torch.tensor([[0.2, -0.7], [0.0, 0.0]])
    by_hand = 0.5 * (0.25 + math.exp(0.2) - 1 - 0.2 + 1.0 + math.exp(-0.7) - 1 + 0.7)
    kl = likelihood.gaussian_kl(mean, log_var)
    assert torch.allclose(kl, torch.tensor([by_hand, 0.0]))
    q, p = Normal(mean, torch.exp(0.5 * log_var)), Normal(torch.zeros(2), torch.ones(2))
    assert torch.allclose(kl, kl_divergence(q, p).sum(1))


def test_log_probs_are_summed_per_example():
    logits, target = torch.randn(3, 1, 2, 2), torch.bernoulli(torch.full((3, 1, 2, 2), 0.5))
    expected = Bernoulli(logits=logits).log_prob(target).flatten(1).sum(1)
    assert torch.allclose(likelihood.bernoulli_log_prob(logits, target), expected)
    x, mean, log_var = torch.randn(3, 4), torch.randn(3, 4), torch.randn(4)
    expected = Normal(mean, torch.exp(0.5 * log_var)).log_prob(x).sum(1)
    assert torch.allclose(likelihood.gaussian_log_prob(x, mean, log_var), expected, atol=1e-5)
    assert torch.allclose(likelihood.standard_normal_log_prob(x), Normal(0.0, 1.0).log_prob(x).sum(1))


# A linear Gaussian model: z ~ N(0, 1), x | z ~ N(w z, s^2), so p(x) = N(0, w^2 + s^2).
W, S = 2.0, 0.5


def _model_fit(x):
    return lambda z: likelihood.gaussian_log_prob(x, W * z, torch.full_like(x, 2 * math.log(S)))


def test_iwae_with_one_sample_is_the_one_sample_elbo():
    x = torch.tensor([[0.3], [-1.2]])
    mean, log_var = torch.tensor([[0.1], [-0.4]]), torch.tensor([[-1.0], [-0.5]])
    bound = likelihood.iwae_bound(
        mean, log_var, _model_fit(x), k=1, generator=torch.Generator().manual_seed(3)
    )
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(3))
    z = mean + torch.exp(0.5 * log_var) * noise
    log_q = Normal(mean, torch.exp(0.5 * log_var)).log_prob(z).sum(1)
    by_hand = _model_fit(x)(z) + Normal(0.0, 1.0).log_prob(z).sum(1) - log_q
    assert torch.allclose(bound, by_hand, atol=1e-5)


def test_iwae_does_not_decrease_with_k_and_stays_below_log_p_x():
    x = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0)) * math.sqrt(W**2 + S**2)
    # a deliberately poor q (the prior): every bound is loose at k=1 and tightens with k
    mean, log_var = torch.zeros_like(x), torch.zeros_like(x)
    log_px = Normal(0.0, math.sqrt(W**2 + S**2)).log_prob(x).sum(1).mean()
    generator = torch.Generator().manual_seed(1)
    means = [likelihood.iwae_bound(mean, log_var, _model_fit(x), k, generator).mean() for k in (1, 5, 50)]
    assert means[0] < means[1] < means[2] <= log_px + 0.01
    assert log_px - means[2] < 0.5 * (log_px - means[0])
    _, elbo = likelihood.bounds(mean, log_var, _model_fit(x), 50, generator)
    assert abs(float(elbo.mean()) - float(means[0])) < 0.1  # one-sample ELBO ~ closed-form-KL ELBO


def test_exact_posterior_makes_every_bound_log_p_x():
    x = torch.tensor([[0.7], [-2.0]])
    var = 1 / (1 + W**2 / S**2)  # the true posterior of the linear Gaussian model
    mean, log_var = var * W / S**2 * x, torch.full_like(x, math.log(var))
    log_px = Normal(0.0, math.sqrt(W**2 + S**2)).log_prob(x).sum(1)
    for k in (1, 7):
        bound = likelihood.iwae_bound(mean, log_var, _model_fit(x), k, torch.Generator().manual_seed(k))
        assert torch.allclose(bound, log_px, atol=1e-4)
