import math

import pytest
import torch

from gan_cli import losses
from gan_cli.errors import UserError
from tests.helpers import compose_train


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def test_ns_losses_equal_the_formula_on_hand_made_logits():
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-3.0, 0.0])
    expected_d = -sum(math.log(sigmoid(t)) for t in real.tolist()) / 3 - sum(
        math.log(1 - sigmoid(t)) for t in fake.tolist()
    ) / 2
    expected_g = -sum(math.log(sigmoid(t)) for t in fake.tolist()) / 2
    assert losses.ns_d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.ns_g_loss(fake).item() == pytest.approx(expected_g, rel=1e-6)


def test_ns_losses_match_bce_with_logits():
    real, fake = torch.randn(16), torch.randn(16)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones(16)) + bce(fake, torch.zeros(16))
    assert losses.ns_d_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.ns_g_loss(fake).item() == pytest.approx(bce(fake, torch.ones(16)).item(), rel=1e-6)


@pytest.mark.parametrize("extreme", [80.0, -80.0, 1e4, -1e4])
def test_extreme_logits_give_finite_values_and_gradients(extreme):
    real = torch.full((4,), extreme, requires_grad=True)
    fake = torch.full((4,), -extreme, requires_grad=True)
    d = losses.ns_d_loss(real, fake)
    g = losses.ns_g_loss(fake)
    (d + g).backward()
    assert torch.isfinite(d) and torch.isfinite(g)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def test_the_generator_loss_is_non_saturating():
    # A confident D (very negative fake logits) still gives G a gradient near -1 per sample.
    fake = torch.full((2,), -20.0, requires_grad=True)
    losses.ns_g_loss(fake).backward()
    assert fake.grad.abs().min().item() == pytest.approx(0.5, rel=1e-3)  # mean over 2 -> 1/2 each


def test_build_from_the_config_and_unknown_names():
    assert losses.build(compose_train().loss).name == "ns"
    with pytest.raises(UserError, match="valid losses: ns"):
        losses.build(type("Cfg", (), {"name": "nope"})())


def test_discriminator_confidence_is_the_mean_probability():
    logits = torch.tensor([0.0, 100.0])
    assert losses.discriminator_confidence(logits).item() == pytest.approx(0.75)
