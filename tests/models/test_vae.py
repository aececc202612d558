"""model=vae and model=ae (gan_cli.models.vae): shapes, the generator contract, the likelihoods
against a hand computation on a tiny model with fixed weights, the AE's fitted Gaussian."""

import math

import pytest
import torch

from gan_cli import models
from gan_cli.models import contract
from gan_cli.models.autoencoder import Decoder, Encoder, paired_rows, reconstruct


@pytest.mark.parametrize("name", ["vae", "ae"])
@pytest.mark.parametrize(
    ("arch", "shape"),
    [("mlp", (1, 28, 28)), ("conv", (1, 28, 28)), ("conv", (3, 16, 16)), ("mlp", (3, 8, 8))],
)
def test_shapes_and_the_generator_contract(model_cfg, name, arch, shape):
    decoder, encoder = models.build(model_cfg(name, arch=arch, z_dim=4, hidden=[16], width=4), shape)
    assert isinstance(decoder, Decoder) and isinstance(encoder, Encoder)
    z = contract.sample_latent(decoder, 5)
    assert z.shape == (5, 4) and contract.latent_size(decoder) == 4 and not contract.takes_labels(decoder)
    images = contract.generate(decoder, z)
    assert images.shape == (5, *shape) and images.min() >= -1 and images.max() <= 1
    mean, log_var = encoder(images)
    assert mean.shape == (5, 4) and (log_var is None) == (name == "ae")
    assert reconstruct(decoder, encoder, images).shape == images.shape


def test_conv_refuses_sizes_dcgan_has_no_layout_for(model_cfg, raises_one_line_user_error):
    with raises_one_line_user_error("model.arch=conv cannot make 20x20"):
        models.build(model_cfg("vae", arch="conv"), (1, 20, 20))
    with raises_one_line_user_error("model.likelihood='poisson' is out of range"):
        models.build(model_cfg("vae", likelihood="poisson"), (1, 8, 8))


def _tiny(model_cfg, likelihood: str):
    """A VAE on 1x1x2 images with z_dim 1 and one hidden unit, every weight set by hand."""
    decoder, encoder = models.build(
        model_cfg("vae", arch="mlp", z_dim=1, hidden=[1], likelihood=likelihood, binarize=False), (1, 1, 2)
    )
    with torch.no_grad():
        e1, e2 = encoder.net[1], encoder.net[3]  # Flatten, Linear(2, 1), ReLU, Linear(1, 2)
        e1.weight.copy_(torch.tensor([[1.0, -0.5]])), e1.bias.fill_(0.25)
        e2.weight.copy_(torch.tensor([[0.8], [-0.3]])), e2.bias.copy_(torch.tensor([0.1, -0.2]))
        d1, d2 = decoder.net[0], decoder.net[2]  # Linear(1, 1), ReLU, Linear(1, 2), Unflatten
        d1.weight.fill_(1.5), d1.bias.fill_(0.5)
        d2.weight.copy_(torch.tensor([[2.0], [-1.0]])), d2.bias.copy_(torch.tensor([-0.5, 0.3]))
        if decoder.log_var is not None:
            decoder.log_var.copy_(torch.tensor([[[-1.0, 0.4]]]))
    return decoder, encoder


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_the_elbo_of_a_tiny_fixed_model_matches_a_hand_computation(model_cfg, likelihood):
    from gan_cli.metrics import likelihood as lk

    decoder, encoder = _tiny(model_cfg, likelihood)
    x = torch.tensor([[[[0.6, -0.2]]]])  # one image in [-1, 1]
    eps = 0.7
    # by hand: the target, q's mean and log-variance, z, the decoder's output, log p(t | z), KL
    t = [(0.6 + 1) / 2, (-0.2 + 1) / 2] if likelihood == "bernoulli" else [0.6, -0.2]
    seen = [2 * v - 1 for v in t] if likelihood == "bernoulli" else t
    h = max(0.0, 1.0 * seen[0] - 0.5 * seen[1] + 0.25)
    mu, log_var = 0.8 * h + 0.1, -0.3 * h - 0.2
    z = mu + math.exp(0.5 * log_var) * eps
    g = max(0.0, 1.5 * z + 0.5)
    out = [2.0 * g - 0.5, -1.0 * g + 0.3]
    if likelihood == "bernoulli":
        fit = sum(
            ti * math.log(1 / (1 + math.exp(-o))) + (1 - ti) * math.log(1 / (1 + math.exp(o)))
            for ti, o in zip(t, out, strict=True)
        )
    else:
        fit = sum(
            -0.5 * (math.log(2 * math.pi) + lv + (ti - o) ** 2 / math.exp(lv))
            for ti, o, lv in zip(t, out, (-1.0, 0.4), strict=True)
        )
    kl = 0.5 * (mu**2 + math.exp(log_var) - 1 - log_var)

    target = decoder.target(x)
    with torch.no_grad():
        mean, lv = encoder(decoder.encoder_input(target))
        code = lk.reparameterize(mean, lv, torch.full_like(mean, eps))
        ours_fit = decoder.log_likelihood(decoder.decode(code), target)
        ours_kl = lk.gaussian_kl(mean, lv)
    assert float(ours_fit) == pytest.approx(fit, rel=1e-5)
    assert float(ours_kl) == pytest.approx(kl, rel=1e-5)
    assert float(lk.elbo(ours_fit, ours_kl)) == pytest.approx(fit - kl, rel=1e-5)


def test_bernoulli_binarization_is_dynamic_and_samples_are_means(model_cfg):
    decoder, _ = models.build(model_cfg("vae", z_dim=2, hidden=[4]), (1, 4, 4))
    x = torch.rand(64, 1, 4, 4) * 2 - 1
    first, second = decoder.target(x), decoder.target(x)
    assert set(first.unique().tolist()) <= {0.0, 1.0} and not torch.equal(first, second)
    z = torch.randn(3, 2)
    assert torch.allclose(decoder(z), torch.sigmoid(decoder.decode(z)) * 2 - 1)


def test_the_gaussian_variance_is_floored_at_one_grey_level(model_cfg):
    from gan_cli.metrics.likelihood import MIN_LOG_VAR

    decoder, _ = models.build(model_cfg("vae", likelihood="gaussian", z_dim=2, hidden=[4]), (1, 2, 2))
    with torch.no_grad():
        decoder.log_var.fill_(-50.0)
    assert torch.all(decoder.pixel_log_var() == MIN_LOG_VAR)
    assert math.exp(MIN_LOG_VAR / 2) == pytest.approx(2 / 255)


def test_an_ae_samples_the_gaussian_fitted_to_its_codes(model_cfg):
    decoder, _ = models.build(model_cfg("ae", z_dim=2, hidden=[4]), (1, 2, 2))
    true_mean, scale = torch.tensor([3.0, -1.0]), torch.tensor([[2.0, 0.0], [1.0, 0.5]])
    generator = torch.Generator().manual_seed(0)
    for _ in range(400):
        decoder.fit_codes(true_mean + torch.randn(256, 2, generator=generator) @ scale.T)
    assert torch.allclose(decoder.code_mean, true_mean, atol=0.1)
    assert torch.allclose(decoder.code_covariance(), scale @ scale.T, atol=0.25)
    assert {"code_mean", "code_moment", "codes_seen"} <= set(decoder.state_dict())
    z = torch.randn(5, 2)
    expected = decoder.mean_image(decoder.decode(decoder.code_mean + z @ decoder.code_scale().T))
    assert torch.allclose(decoder(z), expected)


def test_paired_rows_put_each_run_of_images_over_its_reconstructions():
    images, recon = torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)
    rows = paired_rows(images, recon, per_row=3)
    assert rows.shape[0] == 12
    assert torch.all(rows[:3] == 0) and torch.all(rows[3:6] == 1)
    assert torch.all(rows[6:8] == 0) and torch.all(rows[8] == -1)  # the short last run is padded
