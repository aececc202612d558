"""augment=diffaugment (Zhao et al. 2020): each op's values and gradient, p, the policy, the config
group, and the GAN step that augments every image D judges (and calls nothing with augment=none)."""

import pytest
import torch
from omegaconf import OmegaConf, open_dict

from gan_cli.commands.config import validate
from gan_cli.commands.train import build, compose
from gan_cli.errors import UserError
from gan_cli.training import augment
from gan_cli.training.augment import DiffAugment, parse_policy
from tests.data.fakes import assert_one_line, write_idx_set
from tests.helpers import SilentReporter

OPS = sorted(augment.OPS)


def images(n=4, c=3, h=16, w=16, seed=0):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ---- the ops ------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("op", OPS)
def test_each_op_keeps_the_shape_and_passes_the_gradient_to_the_image(op, channels):
    torch.manual_seed(0)
    x = images(c=channels, h=12, w=10).requires_grad_(True)
    out = augment.OPS[op](x)
    assert out.shape == x.shape and out.dtype == x.dtype
    weights = torch.rand_like(out)
    (out * weights).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.isfinite(x.grad).all()


def test_brightness_adds_one_constant_per_image_within_half_a_unit():
    torch.manual_seed(1)
    x = images(n=64)
    delta = augment.brightness(x) - x
    per_image = delta.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)
    assert per_image.abs().max() <= 0.5 and per_image[:, 0].std() > 0.1
    shifted = augment.brightness(x[:2], shift=[0.25, -0.5])
    assert torch.allclose(shifted, x[:2] + torch.tensor([0.25, -0.5]).view(2, 1, 1, 1))


def test_saturation_scales_the_deviation_from_each_pixels_channel_mean():
    x = images(n=2)
    mean = x.mean(dim=1, keepdim=True)
    out = augment.saturation(x, factor=[0.0, 2.0])
    assert torch.allclose(out[0], mean[0].expand_as(out[0]), atol=1e-6)  # s = 0: grey
    assert torch.allclose(out[1], (x[1] - mean[1]) * 2 + mean[1], atol=1e-6)
    torch.manual_seed(2)
    assert torch.allclose(augment.saturation(x).mean(dim=1), mean[:, 0], atol=1e-6)  # the mean stays
    gray = images(c=1)
    assert augment.saturation(gray) is gray  # 1 channel: the identity


def test_contrast_keeps_each_images_mean_and_scales_the_deviation_from_it():
    torch.manual_seed(3)
    x = images(n=8)
    out = augment.contrast(x)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)
    ratio = (out - out.mean(dim=(1, 2, 3), keepdim=True)) / (x - x.mean(dim=(1, 2, 3), keepdim=True))
    factors = ratio.flatten(1).median(dim=1).values
    assert ((factors >= 0.5 - 1e-4) & (factors <= 1.5 + 1e-4)).all()
    fixed = augment.contrast(x[:1], factor=[1.5])
    m = x[:1].mean()
    assert torch.allclose(fixed, (x[:1] - m) * 1.5 + m, atol=1e-6)


def test_translation_shifts_by_whole_pixels_with_zero_fill():
    x = images(n=2, c=2, h=8, w=8) + 3.0  # no zeros of its own
    out = augment.translation(x, shift=[[2, -1], [0, 0]])
    expected = torch.zeros_like(x[0])
    expected[:, 2:, :-1] = x[0, :, :-2, 1:]  # down 2 rows, left 1 column
    assert torch.equal(out[0], expected)
    assert torch.equal(out[1], x[1])


def test_random_translations_are_at_most_an_eighth_of_each_side():
    assert augment.max_shift(28, 28) == (4, 4) and augment.max_shift(32, 16) == (4, 2)
    torch.manual_seed(4)
    x = images(n=16, c=1, h=16, w=16) + 3.0
    out = augment.translation(x)
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    for n in range(len(x)):
        candidates = [s for s in shifts if torch.equal(out[n], augment.translation(x[n : n + 1], [s])[0])]
        assert len(candidates) == 1, n


def test_cutout_zeroes_a_rectangle_of_half_the_image():
    assert augment.cutout_size(28, 28) == (14, 14) and augment.cutout_size(5, 9) == (3, 5)
    x = torch.ones(2, 3, 28, 28)
    out = augment.cutout(x, center=[[14, 14], [0, 28]])
    hole = out[0, 0] == 0
    assert hole.sum() == 14 * 14 and hole[7:21, 7:21].all()
    assert (out[0, :, 7:21, 7:21] == 0).all() and (out[0][:, ~hole] == 1).all()
    assert (out[1, 0] == 0).sum() == 7 * 7 and (out[1, 0, :7, 21:] == 0).all()  # clipped at a corner
    torch.manual_seed(5)
    zeros = (augment.cutout(torch.ones(64, 1, 28, 28)) == 0).flatten(1).sum(1)
    assert (zeros >= 7 * 7).all() and (zeros <= 14 * 14).all() and (zeros == 14 * 14).any()


# ---- the policy and p ---------------------------------------------------------------------------
def test_p_zero_returns_the_input_and_p_one_changes_every_image():
    x = images(n=16)
    assert DiffAugment(p=0.0)(x) is x
    torch.manual_seed(6)
    out = DiffAugment(p=1.0)(x)
    assert out.shape == x.shape
    assert all(not torch.equal(out[n], x[n]) for n in range(len(x)))
    torch.manual_seed(7)
    half = DiffAugment("color", p=0.5)(images(n=64))
    same = [torch.equal(a, b) for a, b in zip(half, images(n=64), strict=True)]
    assert 10 < sum(same) < 54  # a random subset passes unchanged


def test_the_policy_is_a_comma_string_or_a_list_and_colour_is_three_ops():
    assert parse_policy("color, translation,cutout") == parse_policy(["color", "translation", "cutout"])
    assert parse_policy(OmegaConf.create({"p": ["cutout"]}).p) == ("cutout",)
    assert augment.ops_of(parse_policy("color")) == ("brightness", "saturation", "contrast")
    assert augment.ops_of(parse_policy("translation,contrast")) == ("translation", "contrast")


@pytest.mark.parametrize("policy", ["color,rotate", ["flip"], "cutout,cutout", "", 3])
def test_a_bad_policy_is_one_line_naming_the_valid_ops(policy):
    with pytest.raises(UserError) as caught:
        parse_policy(policy)
    message = assert_one_line(caught.value)
    assert message.startswith("augment.policy")
    if policy in ("color,rotate", ["flip"]):
        assert all(name in message for name in ("color", "translation", "cutout"))


def test_the_config_group_defaults_to_none_and_checks_p_and_the_policy():
    assert compose([]).augment.name == "none"
    cfg = compose(["augment=diffaugment"])
    assert cfg.augment.policy == "color,translation,cutout" and cfg.augment.p == 1.0
    validate(compose(["augment=diffaugment", "augment.policy=[cutout,color]", "augment.p=0.5"]))
    with pytest.raises(UserError, match=r"^augment\.p=1\.5 is out of range"):
        validate(compose(["augment=diffaugment", "augment.p=1.5"]))
    with pytest.raises(UserError, match=r"unknown op 'colour' \(did you mean color\?\)"):
        validate(compose(["augment=diffaugment", "augment.policy=[colour]"]))


# ---- the GAN step -------------------------------------------------------------------------------
FEW = ["trainer.progress=false", "trainer.log_every=2", "trainer.sample_every=100", "trainer.ckpt_every=100"]
MLP = ["model=mlp", "model.g_hidden=[16]", "model.d_hidden=[16]"]


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=32)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def built(root, *overrides, model=MLP, cfg=None):
    cfg = cfg or compose(
        [*FEW, "data.download=false", "trainer.batch_size=8", "trainer.eval_every=0", *model, *overrides]
    )
    return build(cfg, root / "run", reporter=SilentReporter()).trainer


def train(trainer, steps=2):
    for _ in range(steps):
        trainer.train_step()
    trainer.log_interval()
    record = trainer.reporter.last
    assert all(torch.isfinite(torch.tensor(v)) for v in record.values() if isinstance(v, float)), record
    return record


class Recorder:
    """Counts the augmentation's calls and what D is handed."""

    def __init__(self, trainer):
        self.calls, self.d_inputs, self.d_labels = 0, [], []
        recipe = trainer.recipe
        inner = recipe.augment

        def counted(x):
            self.calls += 1
            return inner(x)

        if inner is not None:
            recipe.augment = counted
        D = recipe.networks["discriminator"]
        D.register_forward_pre_hook(self.seen)

    def seen(self, module, args):
        self.d_inputs.append(args[0].detach())
        self.d_labels.append(args[1] if len(args) > 1 else None)


@pytest.mark.parametrize("cond", ["none", "projection"])
def test_the_gan_step_trains_with_diffaugment_and_d_sees_only_augmented_images(mnist_root, cond):
    trainer = built(mnist_root, "augment=diffaugment", f"model.cond={cond}", "trainer.d_steps=2")
    assert isinstance(trainer.recipe.augment, DiffAugment)
    G = trainer.recipe.generator
    before = [p.detach().clone() for p in G.parameters()]
    spy = Recorder(trainer)
    train(trainer, steps=2)
    assert spy.calls == 2 * (2 * 2 + 1)  # per step: real and fake in each D step, fake in the G step
    assert spy.d_inputs, "D was never called"
    for x in spy.d_inputs:  # each image D sees has its cutout: at least a corner's 7 x 7 of zeros
        assert x.shape[1:] == (1, 28, 28)
        assert ((x == 0).flatten(1).sum(1) >= 7 * 7).all()
    if cond == "projection":
        assert all(labels is not None and labels.dtype == torch.int64 for labels in spy.d_labels)
    assert any(not torch.equal(a, p) for a, p in zip(before, G.parameters(), strict=True)), "G did not learn"


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss=wgan", "loss.clip=0", "loss.gp_lambda=10"],
        ["loss=ns", "loss.r1_gamma=10", "trainer.pack=2"],
        ["loss=relativistic", "augment.p=0.5", "augment.policy=[translation]"],
    ],
    ids=["gp", "r1-pack", "relativistic-p"],
)
def test_the_regularizers_and_packing_work_on_augmented_inputs(mnist_root, overrides):
    train(built(mnist_root, "augment=diffaugment", *overrides), steps=2)


def test_a_conv_family_trains_with_diffaugment(mnist_root):
    dcgan = ["model=dcgan", "model.width=4"]
    trainer = built(mnist_root, "augment=diffaugment", "model.cond=projection", model=dcgan)
    assert "augment color,translation,cutout" in trainer.recipe.facts()["step"]
    train(trainer, steps=1)


def test_with_augment_none_the_step_calls_no_augmentation(mnist_root, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the augmentation ran with augment=none")

    monkeypatch.setattr(DiffAugment, "__call__", refuse)
    for op in augment.OPS:
        monkeypatch.setattr(augment, op, refuse)
    trainer = built(mnist_root)
    assert trainer.recipe.augment is None
    assert "augment" not in trainer.recipe.facts()["step"]
    train(trainer, steps=2)
    # a config composed before the augment group existed: no key, no augmentation
    old = compose([*FEW, "data.download=false", "trainer.batch_size=8", "trainer.eval_every=0", *MLP])
    with open_dict(old):
        del old["augment"]
    trainer = built(mnist_root, cfg=old)
    assert trainer.recipe.augment is None
    train(trainer, steps=1)


def test_diffaugment_on_2d_points_is_refused_in_one_line(tmp_path):
    cfg = compose([*FEW, "data=ring8", *MLP, "trainer.eval_every=0", "augment=diffaugment"])
    with pytest.raises(UserError) as caught:
        build(cfg, tmp_path / "run", reporter=SilentReporter())
    message = assert_one_line(caught.value)
    assert "augment=diffaugment" in message and "2D points" in message and "augment=none" in message
