"""Regularizers against critics whose gradients are known in closed form."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gan_cli.models import build
from gan_cli.training.penalties import clip_weights_, gradient_penalty, lazy_weight, r1_penalty

SHAPES = [(6, 2), (5, 1, 4, 4), (3, 3, 2, 2)]  # 2D points and images


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b over all non-batch dims: grad_x D = w for every x."""

    def __init__(self, sample_shape, w=None):
        super().__init__()
        numel = int(torch.Size(sample_shape).numel())
        self.w = nn.Parameter(torch.randn(numel) if w is None else w.clone())
        self.b = nn.Parameter(torch.tensor(0.3))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x.flatten(1) @ self.w + self.b


class HalfSquareCritic(nn.Module):
    """D(x) = ||x||^2 / 2: grad_x D = x, a gradient that differs from sample to sample."""

    def forward(self, x):
        return 0.5 * x.flatten(1).square().sum(dim=1)


def samples(shape, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator)


# ---- gradient penalty (Gulrajani et al. 2017) -----------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_alpha_is_drawn_per_sample_from_the_generator(shape):
    real, fake = samples(shape, 1), samples(shape, 2)
    critic = LinearCritic(shape[1:])
    gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    (x_hat,) = critic.seen

    alpha_shape = (shape[0],) + (1,) * (len(shape) - 1)
    alpha = torch.rand(alpha_shape, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(x_hat, alpha * real + (1 - alpha) * fake)
    # Independently of how alpha is drawn: each x_hat lies on its own real-fake segment,
    # i.e. one mixing weight per sample shared by all of its coordinates.
    weights = ((x_hat - fake) / (real - fake)).flatten(1)
    torch.testing.assert_close(weights, weights[:, :1].expand_as(weights))
    assert ((weights >= 0) & (weights <= 1)).all()
    assert weights[:, 0].unique().numel() == shape[0]


def test_alpha_differs_between_calls_without_a_generator():
    real, fake = samples((8, 2), 1), samples((8, 2), 2)
    critic = LinearCritic((2,))
    gradient_penalty(critic, real, fake)
    gradient_penalty(critic, real, fake)
    assert not torch.equal(critic.seen[0], critic.seen[1])


@pytest.mark.parametrize("shape", SHAPES)
def test_linear_critic_penalty_is_the_analytic_one(shape):
    critic = LinearCritic(shape[1:])
    penalty = gradient_penalty(critic, samples(shape, 1), samples(shape, 2))
    norm = critic.w.detach().norm().item()
    assert penalty.item() == pytest.approx((norm - 1) ** 2, rel=1e-5)


def test_unit_norm_linear_critic_has_no_penalty():
    w = torch.tensor([0.6, 0.8])
    penalty = gradient_penalty(LinearCritic((2,), w), samples((4, 2), 1), samples((4, 2), 2))
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


def test_penalty_uses_each_samples_own_gradient_norm():
    shape = (6, 1, 3, 3)
    real, fake = samples(shape, 1), samples(shape, 2)
    penalty = gradient_penalty(HalfSquareCritic(), real, fake, generator=torch.Generator().manual_seed(3))
    alpha = torch.rand((6, 1, 1, 1), generator=torch.Generator().manual_seed(3))
    x_hat = alpha * real + (1 - alpha) * fake
    norms = [x_hat[i].flatten().norm().item() for i in range(6)]
    expected = sum((n - 1) ** 2 for n in norms) / 6
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_penalty_trains_the_critic_and_not_the_generator():
    w = torch.tensor([3.0, 4.0])
    critic = LinearCritic((2,), w)
    real = samples((4, 2), 1)
    fake = samples((4, 2), 2).requires_grad_(True)  # as if it came out of G
    gradient_penalty(critic, real, fake).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||, which needs create_graph=True to exist.
    torch.testing.assert_close(critic.w.grad, 2 * (5 - 1) * w / 5)
    assert fake.grad is None


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        gradient_penalty(LinearCritic((2,)), samples((4, 2), 1), samples((3, 2), 2))


@pytest.mark.parametrize(("name", "shape"), [("mlp", (2,)), ("dcgan", (1, 16, 16))])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_penalty_on_the_real_discriminators(name, shape, spectral_norm):
    cfg = SimpleNamespace(name=name, width=8, d_hidden=[16], d_batchnorm=False, d_spectral_norm=spectral_norm)
    _, discriminator = build(cfg, shape)
    real, fake = samples((4, *shape), 1), samples((4, *shape), 2)
    penalty = gradient_penalty(discriminator, real, fake)
    penalty.backward()
    assert torch.isfinite(penalty)
    logit_layer = [m for m in discriminator.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    # grad_x D does not depend on the logit layer's bias, so neither does the penalty.
    assert logit_layer.bias.grad is None
    for param in discriminator.parameters():
        if param is not logit_layer.bias:
            assert param.grad is not None and torch.isfinite(param.grad).all()


# ---- R1 (Mescheder et al. 2018) -------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_r1_of_a_linear_critic_is_the_squared_weight_norm(shape):
    critic = LinearCritic(shape[1:])
    real = samples(shape, 1).requires_grad_(True)
    penalty = r1_penalty(critic(real), real)
    assert penalty.item() == pytest.approx(critic.w.detach().square().sum().item(), rel=1e-5)
    penalty.backward()
    torch.testing.assert_close(critic.w.grad, 2 * critic.w.detach())  # the graph was kept


def test_r1_averages_each_samples_squared_gradient_norm():
    real = samples((5, 1, 3, 3), 1).requires_grad_(True)
    penalty = r1_penalty(HalfSquareCritic()(real), real)
    expected = sum(real[i].detach().square().sum().item() for i in range(5)) / 5
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_r1_needs_real_to_require_grad_before_the_critic():
    critic = LinearCritic((2,))
    real = samples((4, 2), 1)
    with pytest.raises(ValueError, match="requires_grad_"):
        r1_penalty(critic(real), real)


@pytest.mark.parametrize(("gamma", "every", "expected"), [(10.0, 1, 5.0), (10.0, 16, 80.0), (0.1, 4, 0.2)])
def test_lazy_weight_is_half_gamma_times_the_interval(gamma, every, expected):
    assert lazy_weight(gamma, every) == pytest.approx(expected)


def test_lazy_weight_refuses_a_zero_interval():
    with pytest.raises(ValueError):
        lazy_weight(1.0, 0)


def test_lazy_r1_matches_eager_r1_on_average():
    # Karras et al. 2020: applying the penalty every k steps with weight x k gives, over k steps,
    # the same total as applying it every step.
    critic = LinearCritic((2,))
    real = samples((4, 2), 1).requires_grad_(True)
    r1 = r1_penalty(critic(real), real).item()
    gamma, every = 10.0, 4
    eager = sum(lazy_weight(gamma, 1) * r1 for _ in range(every))
    lazy = sum(lazy_weight(gamma, every) * r1 for step in range(every) if step % every == 0)
    assert lazy == pytest.approx(eager)


# ---- weight clipping (Arjovsky et al. 2017) -------------------------------------------------------
def test_clip_weights_clamps_every_parameter_in_place():
    module = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.linspace(-1, 1, param.numel()).reshape(param.shape))
    before = [param.detach().clone() for param in module.parameters()]
    storages = [param.data_ptr() for param in module.parameters()]
    clip_weights_(module, 0.5)
    for param, old, ptr in zip(module.parameters(), before, storages, strict=True):
        assert param.data_ptr() == ptr and param.is_leaf and param.grad_fn is None
        torch.testing.assert_close(param.detach(), old.clamp(-0.5, 0.5))
        assert param.abs().max() <= 0.5


def test_clip_weights_reaches_spectrally_normalized_weights():
    _, discriminator = build(SimpleNamespace(name="mlp", d_hidden=[8], d_spectral_norm=True), (2,))
    clip_weights_(discriminator, 0.01)
    assert all(param.abs().max() <= 0.01 for param in discriminator.parameters())


@pytest.mark.parametrize("c", [0.0, -0.01])
def test_clip_weights_refuses_a_non_positive_bound(c):
    with pytest.raises(ValueError):
        clip_weights_(nn.Linear(2, 1), c)


# ---- on a GPU: same math, no host syncs (DESIGN.md: losses stay on the device) ------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_penalties_run_on_cuda_without_host_syncs():
    from gan_cli.training import losses

    cuda = torch.device("cuda")
    cfg = SimpleNamespace(name="dcgan", width=8, d_spectral_norm=True)
    _, discriminator = build(cfg, (3, 32, 32))
    discriminator.to(cuda)
    real = torch.randn(8, 3, 32, 32, device=cuda)
    fake = torch.randn(8, 3, 32, 32, device=cuda)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host sync below raises
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            gp = gradient_penalty(discriminator, real, fake)
            real.requires_grad_(True)
            real_logits = discriminator(real)
            r1 = r1_penalty(real_logits, real)
            d_loss = losses.hinge_d_loss(real_logits, discriminator(fake))
        total = d_loss + 10.0 * gp + lazy_weight(1.0, 4) * r1
        total.backward()
        clip_weights_(discriminator, 0.01)
        shown = losses.build(SimpleNamespace(name="hinge")).d_output(real_logits)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(total) and shown.device.type == "cuda"
    # A CPU generator seeds alpha for data on the GPU (eval: no power iteration between the calls).
    discriminator.eval()
    seeded = [
        gradient_penalty(discriminator, real.detach(), fake, generator=torch.Generator().manual_seed(5))
        for _ in range(2)
    ]
    torch.testing.assert_close(seeded[0], seeded[1])
