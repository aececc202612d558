"""The adversarial objectives against their closed forms, their configs, and validate()'s loss rules."""

import math

import pytest
import torch

from gan_cli.commands.config import validate
from gan_cli.errors import UserError
from gan_cli.training import losses
from tests.helpers import compose_train

ALL_LOSSES = ["hinge", "lsgan", "minimax", "ns", "relativistic", "wgan"]
# Both sides of every hinge margin and both signs of every difference occur in these.
REAL = [2.0, -1.0, 0.5]
FAKE = [-3.0, 0.0]


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def relu(t: float) -> float:
    return max(t, 0.0)


def build(name: str, **fields) -> losses.GANLoss:
    return losses.build(type("Cfg", (), {"name": name, **fields})())


def evaluate(loss: losses.GANLoss, real=REAL, fake=FAKE) -> tuple[float, float]:
    real_t, fake_t = torch.tensor(real), torch.tensor(fake)
    return loss.d_loss(real_t, fake_t).item(), loss.g_loss(fake_t, real_t).item()


# ---- closed forms, written from the papers' formulas in plain python --------------------------
def expected_ns():
    d = -mean(math.log(sigmoid(t)) for t in REAL) - mean(math.log(1 - sigmoid(t)) for t in FAKE)
    return d, -mean(math.log(sigmoid(t)) for t in FAKE)


def expected_minimax():
    d = -mean(math.log(sigmoid(t)) for t in REAL) - mean(math.log(1 - sigmoid(t)) for t in FAKE)
    return d, mean(math.log(1 - sigmoid(t)) for t in FAKE)


def expected_lsgan(a=-1.0, b=1.0, c=0.0):
    d = 0.5 * mean((t - b) ** 2 for t in REAL) + 0.5 * mean((t - a) ** 2 for t in FAKE)
    return d, 0.5 * mean((t - c) ** 2 for t in FAKE)


def expected_hinge():
    d = mean(relu(1 - t) for t in REAL) + mean(relu(1 + t) for t in FAKE)
    return d, -mean(FAKE)


def expected_wgan():
    return mean(FAKE) - mean(REAL), -mean(FAKE)


def expected_relativistic():
    mean_real, mean_fake = mean(REAL), mean(FAKE)
    d = -mean(math.log(sigmoid(r - mean_fake)) for r in REAL) - mean(
        math.log(1 - sigmoid(f - mean_real)) for f in FAKE
    )
    g = -mean(math.log(sigmoid(f - mean_real)) for f in FAKE) - mean(
        math.log(1 - sigmoid(r - mean_fake)) for r in REAL
    )
    return d, g


EXPECTED = {
    "ns": expected_ns,
    "minimax": expected_minimax,
    "lsgan": expected_lsgan,
    "hinge": expected_hinge,
    "wgan": expected_wgan,
    "relativistic": expected_relativistic,
}


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_each_loss_equals_its_closed_form(name):
    d, g = evaluate(build(name))
    expected_d, expected_g = EXPECTED[name]()
    assert d == pytest.approx(expected_d, rel=1e-6)
    assert g == pytest.approx(expected_g, rel=1e-6)


@pytest.mark.parametrize(("a", "b", "c"), [(-1.0, 1.0, 0.0), (0.0, 1.0, 1.0), (0.25, 2.0, -0.5)])
def test_lsgan_targets_follow_the_config(a, b, c):
    d, g = evaluate(build("lsgan", a=a, b=b, c=c))
    expected_d, expected_g = expected_lsgan(a, b, c)
    assert d == pytest.approx(expected_d, rel=1e-6)
    assert g == pytest.approx(expected_g, rel=1e-6)


def test_ns_losses_match_bce_with_logits():
    real, fake = torch.randn(16), torch.randn(16)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones(16)) + bce(fake, torch.zeros(16))
    assert losses.ns_d_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.ns_g_loss(fake).item() == pytest.approx(bce(fake, torch.ones(16)).item(), rel=1e-6)


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("extreme", [80.0, -80.0, 1e4, -1e4])
def test_extreme_logits_give_finite_values_and_gradients(name, extreme):
    loss = build(name)
    for real_value, fake_value in ((extreme, -extreme), (extreme, extreme)):
        real = torch.full((4,), real_value, requires_grad=True)
        fake = torch.full((4,), fake_value, requires_grad=True)
        d = loss.d_loss(real, fake)
        g = loss.g_loss(fake, real)
        (d + g).backward()
        assert torch.isfinite(d) and torch.isfinite(g)
        assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def test_the_generator_loss_is_non_saturating():
    # A confident D (very negative fake logits) still gives G a gradient near -1 per sample.
    fake = torch.full((2,), -20.0, requires_grad=True)
    losses.ns_g_loss(fake).backward()
    assert fake.grad.abs().min().item() == pytest.approx(0.5, rel=1e-3)  # mean over 2 -> 1/2 each


def test_the_minimax_generator_loss_saturates():
    # The reason Goodfellow et al. switch to ns: log(1 - D(G(z))) is flat where D rejects fakes.
    fake = torch.full((2,), -20.0, requires_grad=True)
    losses.minimax_g_loss(fake).backward()
    assert fake.grad.abs().max().item() < 1e-8


def test_relativistic_generator_reads_the_real_logits():
    loss = build("relativistic")
    assert loss.g_needs_real
    real = torch.tensor(REAL, requires_grad=True)
    loss.g_loss(torch.tensor(FAKE), real).backward()
    assert real.grad.abs().sum() > 0  # G's loss has a term through D(x) (the roles are swapped)
    with pytest.raises(ValueError, match="real_logits"):
        loss.g_loss(torch.tensor(FAKE))
    assert not any(build(name).g_needs_real for name in ALL_LOSSES if name != "relativistic")


@pytest.mark.parametrize(
    ("name", "probabilities"),
    [
        ("ns", True),
        ("minimax", True),
        ("relativistic", True),
        ("lsgan", False),
        ("hinge", False),
        ("wgan", False),
    ],
)
def test_d_output_is_a_probability_or_the_raw_score(name, probabilities):
    loss = build(name)
    logits = torch.tensor([0.0, 100.0], requires_grad=True)
    shown = loss.d_output(logits)
    assert loss.logits_are_probabilities is probabilities
    assert shown.item() == pytest.approx(0.75 if probabilities else 50.0)
    assert shown.dim() == 0 and not shown.requires_grad


def test_discriminator_confidence_and_score():
    logits = torch.tensor([0.0, 100.0])
    assert losses.discriminator_confidence(logits).item() == pytest.approx(0.75)
    assert losses.discriminator_score(logits).item() == pytest.approx(50.0)


# ---- build and the configs ------------------------------------------------------------------------
def test_build_from_the_config_and_unknown_names():
    assert losses.build(compose_train().loss).name == "ns"
    with pytest.raises(UserError, match="valid: hinge, lsgan, minimax, ns, relativistic, wgan"):
        build("nope")
    assert losses.available() == ALL_LOSSES


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_every_loss_composes_validates_and_builds(name):
    cfg = compose_train(f"loss={name}")
    validate(cfg)
    assert cfg.loss.name == name
    for key in ("gp_lambda", "r1_gamma", "r1_every", "clip"):
        assert key in cfg.loss  # written in every YAML, so `--cfg job` shows them
    loss = losses.build(cfg.loss)
    assert loss.name == name
    assert (loss.gp_lambda, loss.r1_gamma, loss.r1_every) == (0.0, 0.0, 1)
    assert loss.clip == (0.01 if name == "wgan" else 0.0)


def test_regularizer_settings_reach_the_built_loss():
    cfg = compose_train("loss=hinge", "loss.gp_lambda=10", "loss.r1_gamma=0.5", "loss.r1_every=16")
    validate(cfg)
    loss = losses.build(cfg.loss)
    assert (loss.gp_lambda, loss.r1_gamma, loss.r1_every, loss.clip) == (10.0, 0.5, 16, 0.0)


def test_lsgan_config_defaults_and_alternative():
    cfg = compose_train("loss=lsgan")
    assert (cfg.loss.a, cfg.loss.b, cfg.loss.c) == (-1.0, 1.0, 0.0)
    cfg = compose_train("loss=lsgan", "loss.a=0", "loss.b=1", "loss.c=1")
    validate(cfg)
    d, g = evaluate(losses.build(cfg.loss))
    assert (d, g) == pytest.approx(expected_lsgan(0.0, 1.0, 1.0), rel=1e-6)


def test_lsgan_keys_belong_to_lsgan_only():
    with pytest.raises(Exception, match=r"loss\.a"):
        compose_train("loss=ns", "loss.a=0")


# ---- validate(): ranges and combinations ----------------------------------------------------------
def refused(*overrides: str) -> str:
    with pytest.raises(UserError) as caught:
        validate(compose_train(*overrides))
    message = str(caught.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("loss.gp_lambda=-1", "loss.gp_lambda"),
        ("loss.r1_gamma=-0.1", "loss.r1_gamma"),
        ("loss.r1_every=0", "loss.r1_every"),
        ("loss.clip=-0.01", "loss.clip"),
        ("loss.gp_lambda=inf", "loss.gp_lambda"),
        ("loss.r1_gamma=nan", "loss.r1_gamma"),
    ],
)
def test_regularizer_ranges(override, key):
    message = refused("loss=hinge", override)
    assert message.startswith(f"{key}=") and "out of range" in message


def test_weight_clipping_is_for_the_wgan_critic_only():
    message = refused("loss=ns", "loss.clip=0.01")
    assert message == "loss.clip=0.01 with loss=ns: weight clipping is for the wgan critic (use loss=wgan)"
    assert "loss=hinge" in refused("loss=hinge", "loss.clip=0.01")
    validate(compose_train("loss=wgan", "loss.clip=0.05"))


def test_gradient_penalty_and_clipping_do_not_mix():
    message = refused("loss=wgan", "loss.gp_lambda=10")  # wgan.yaml clips by default
    assert "loss.gp_lambda=10.0" in message and "loss.clip=0.01" in message and "loss.clip=0" in message
    validate(compose_train("loss=wgan", "loss.gp_lambda=10", "loss.clip=0"))


def test_an_unconstrained_wgan_critic_is_refused():
    message = refused("loss=wgan", "loss.clip=0")
    assert "loss=wgan" in message and "loss.gp_lambda" in message and "model.d_spectral_norm" in message
    validate(compose_train("loss=wgan", "loss.clip=0", "model.d_spectral_norm=true"))
    validate(compose_train("loss=wgan", "loss.clip=0", "loss.r1_gamma=1"))


@pytest.mark.parametrize("name", ["ns", "minimax", "lsgan", "hinge", "relativistic"])
def test_penalties_combine_with_any_loss(name):
    validate(compose_train(f"loss={name}", "loss.gp_lambda=10", "loss.r1_gamma=10", "loss.r1_every=16"))


def test_lsgan_targets_must_differ():
    message = refused("loss=lsgan", "loss.a=1", "loss.b=1")
    assert message.startswith("loss.a=1.0")


def test_regularizer_types_come_from_the_schema():
    with pytest.raises(Exception, match="r1_every"):
        compose_train("loss.r1_every=1.5")
