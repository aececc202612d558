"""model=resnet: SNGAN's residual G and D (Miyato et al. 2018, appendix B), its layout per size,
its residual blocks, spectral norm in D, every model.cond, PacGAN and minibatch std, and a short
training run whose checkpoint samples through gan_cli.sampling."""

import itertools
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from gan_cli import models
from gan_cli.models.common import (
    ClassProjection,
    ConditionalBatchNorm,
    Discriminator,
    Generator,
    pack_samples,
)
from gan_cli.models.conditioning import CONDITIONINGS
from gan_cli.models.contract import generate
from gan_cli.models.resnet import SUPPORTED_SIZES, blocks, layout
from tests.helpers import SilentReporter

# Large sizes get a narrow net so the file stays fast.
SIZES_AND_WIDTHS = [(16, 4), (28, 4), (32, 4), (48, 2), (64, 2), (128, 1), (256, 1)]


def tiny(**fields):
    return SimpleNamespace(name="resnet", **{"z_dim": 6, "width": 4, **fields})


def of_type(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


# ---- sizes and layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("size", "width"), SIZES_AND_WIDTHS)
def test_every_size_and_channel_count_round_trips(size, width, channels):
    shape = (channels, size, size)
    generator, discriminator = models.build(tiny(width=width), shape)
    assert generator.shape == discriminator.shape == shape
    with torch.no_grad():
        fake = generator(torch.randn(2, 6))
        assert fake.shape == (2, *shape)
        assert fake.min() >= -1 and fake.max() <= 1
        assert discriminator(fake).shape == (2,)


def test_layout_follows_the_papers_tables():
    # CIFAR-10 (32x32): G dense to 4x4, three up blocks; D two down-sampling blocks (the first the
    # optimized one), two that keep 8x8; every block one width (the paper: G 256, D 128).
    assert layout(32, 128) == (4, [128] * 4, [(128, True), (128, True), (128, False), (128, False)])
    assert layout(28, 8) == (7, [8] * 3, [(8, True), (8, True), (8, False), (8, False)])
    assert layout(16, 8) == (4, [8] * 3, [(8, True), (8, True), (8, False), (8, False)])
    # STL-10 (48x48): G 6x6x512, up blocks to 256, 128, 64; D 64, 128, 256, 512 down to 3x3, then 1024.
    assert layout(48, 64) == (
        6,
        [512, 256, 128, 64],
        [(64, True), (128, True), (256, True), (512, True), (1024, False)],
    )
    # the authors' 64 (down to 2x2, no block after) and 128 (down to 4x4, one 1024 block after)
    assert layout(64, 64) == (4, [1024, 512, 256, 128, 64], [(c, True) for c in (64, 128, 256, 512, 1024)])
    assert layout(128, 64) == (
        4,
        [1024, 1024, 512, 256, 128, 64],
        [(c, True) for c in (64, 128, 256, 512, 1024)] + [(1024, False)],
    )
    assert max(layout(256, 64).g) == max(c for c, _ in layout(256, 64).d) == 16 * 64


@pytest.mark.parametrize("size", SUPPORTED_SIZES)
def test_built_networks_follow_the_layout(size):
    width = 1 if size >= 128 else 2
    plan = layout(size, width)
    generator, discriminator = models.build(tiny(width=width), (3, size, size))
    b = blocks()
    ups = [m for m in generator.net if isinstance(m, b.UpBlock)]
    assert [m.c1.in_channels for m in ups] + [ups[-1].c2.out_channels] == plan.g
    assert generator.net[0].out_features == plan.base**2 * plan.g[0]
    trunk = [m for m in discriminator.net if isinstance(m, (b.OptimizedBlock, b.DownBlock))]
    assert isinstance(trunk[0], b.OptimizedBlock)
    assert all(isinstance(m, b.DownBlock) for m in trunk[1:])
    assert [(m.c2.out_channels, getattr(m, "down", True)) for m in trunk] == plan.d
    # G's maps double from the base to the image; D's halve at every down-sampling block
    sides, x = [], torch.randn(2, 6)
    for layer in generator.net:
        x = layer(x)
        if isinstance(layer, (nn.Unflatten, b.UpBlock)):
            sides.append(x.shape[-1])
    assert sides == [plan.base * 2**i for i in range(len(plan.g))] and sides[-1] == size
    x = torch.randn(2, 3, size, size)
    for layer in trunk:
        x = layer(x)
    downs = sum(down for _, down in plan.d)
    assert x.shape[-1] == size // 2**downs


def test_head_is_relu_sum_pooling_and_a_dense_layer_to_one_logit():
    _, discriminator = models.build(tiny(d_spectral_norm=False), (1, 28, 28))
    *trunk, relu, pool, head = discriminator.net
    assert isinstance(relu, nn.ReLU) and isinstance(head, nn.Linear) and head.out_features == 1
    x = torch.randn(3, 1, 28, 28)
    h = relu(nn.Sequential(*trunk)(x))
    assert h.shape[-2:] == (7, 7)
    assert torch.allclose(discriminator(x), head(h.sum(dim=(2, 3))).reshape(3), atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 30, 30), (3, 32, 16), (1, 8, 8), (3, 512, 512)])
def test_unsupported_size_is_one_line_naming_the_supported_ones(raises_one_line_user_error, shape):
    with raises_one_line_user_error(f"{shape[1]}x{shape[2]}", "model=resnet", "16, 28, 32, 48, 64, 128, 256"):
        models.build(tiny(), shape)


def test_point_data_is_one_line(raises_one_line_user_error):
    with raises_one_line_user_error("model=resnet needs image data", "model=mlp"):
        models.build(tiny(), (2,))


def test_the_size_estimate_reads_the_data_side():
    from gan_cli.models.resnet import size

    small, _ = size(tiny(z_dim=128, width=32), 1 * 28 * 28)
    large, _ = size(tiny(z_dim=128, width=32), 3 * 64 * 64)
    assert 0 < small < large
    built = models.build(tiny(z_dim=128, width=32), (1, 28, 28))
    actual = sum(p.numel() for net in built for p in net.parameters())
    assert actual / 2 < small < actual * 2
    assert size(tiny(), None)[0] == size(tiny(), 3 * 64 * 64)[0]  # unknown data: 64x64


# ---- the residual blocks ----------------------------------------------------------------------------


def zero_residual(block):
    with torch.no_grad():
        block.c2.weight.zero_()
        block.c2.bias.zero_()


@pytest.mark.parametrize("n_classes", [0, 3])
def test_an_up_block_with_a_zeroed_residual_branch_is_its_shortcut(n_classes):
    block = blocks().UpBlock(4, 6, n_classes)
    x, labels = torch.randn(2, 4, 5, 5), torch.tensor([0, 2])
    args = (x, labels) if n_classes else (x,)
    assert not torch.equal(block(*args), block.shortcut(x))
    zero_residual(block)
    out = block(*args)
    assert out.shape == (2, 6, 10, 10)
    assert torch.equal(out, block.shortcut(x))
    # the shortcut: nearest 2x up-sampling, then the 1x1 conv
    expected = block.c_sc(F.interpolate(x, scale_factor=2, mode="nearest"))
    assert torch.equal(block.shortcut(x), expected)
    assert torch.equal(block.shortcut(x)[..., ::2, ::2], block.c_sc(x))


@pytest.mark.parametrize(
    ("c_in", "c_out", "down"), [(4, 6, True), (4, 4, True), (4, 6, False), (4, 4, False)]
)
def test_a_down_block_with_a_zeroed_residual_branch_is_its_shortcut(c_in, c_out, down):
    block = blocks().DownBlock(c_in, c_out, down)
    x = torch.randn(2, c_in, 8, 8)
    assert not torch.equal(block(x), block.shortcut(x))
    zero_residual(block)
    out = block(x)
    assert out.shape == (2, c_out, 4 if down else 8, 4 if down else 8)
    assert torch.equal(out, block.shortcut(x))
    if c_in == c_out and not down:
        assert block.c_sc is None and torch.equal(block.shortcut(x), x)  # the identity
    else:
        expected = block.c_sc(x)
        assert torch.equal(block.shortcut(x), F.avg_pool2d(expected, 2) if down else expected)


def test_the_optimized_block_with_a_zeroed_residual_branch_is_pooling_then_a_1x1_conv():
    block = blocks().OptimizedBlock(3, 5)
    x = torch.randn(2, 3, 8, 8)
    zero_residual(block)
    assert torch.equal(block(x), block.c_sc(F.avg_pool2d(x, 2)))


def test_the_blocks_in_a_built_network_are_residual():
    generator, discriminator = models.build(tiny(d_spectral_norm=False), (1, 28, 28))
    b = blocks()
    up = next(m for m in generator.net if isinstance(m, b.UpBlock))
    down = next(m for m in discriminator.net if isinstance(m, b.DownBlock))
    for block, x in ((up, torch.randn(2, 4, 7, 7)), (down, torch.randn(2, 4, 14, 14))):
        block.eval()
        zero_residual(block)
        assert torch.equal(block(x), block.shortcut(x))


def test_xavier_init_gain_sqrt2_on_the_residual_convs_and_1_on_the_shortcuts():
    generator, discriminator = models.build(tiny(width=32, d_spectral_norm=False), (3, 32, 32))
    b = blocks()

    def bound(layer, gain):
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        return gain * math.sqrt(6.0 / (fan_in + fan_out))

    for block in of_type(generator, b.UpBlock) + of_type(discriminator, (b.DownBlock, b.OptimizedBlock)):
        for conv, gain in ((block.c1, math.sqrt(2)), (block.c2, math.sqrt(2)), (block.c_sc, 1.0)):
            if conv is None:
                continue
            limit = bound(conv, gain)
            assert conv.weight.abs().max() <= limit and conv.weight.abs().max() > 0.8 * limit
            assert torch.all(conv.bias == 0)
    for layer in (generator.net[0], generator.net[-2], discriminator.net[-1]):
        assert layer.weight.abs().max() <= bound(layer, 1.0) and torch.all(layer.bias == 0)


# ---- spectral norm and BatchNorm ----------------------------------------------------------------------


@pytest.mark.parametrize("cond", CONDITIONINGS)
def test_spectral_norm_on_every_layer_of_d_by_default_and_no_batchnorm(cond):
    generator, discriminator = models.build(tiny(cond=cond), (3, 32, 32), n_classes=3)
    layers = of_type(discriminator, (nn.Conv2d, nn.Linear, ClassProjection))
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert (discriminator.project is not None) == (cond == "projection")
    if cond == "concat":
        assert not parametrize.is_parametrized(discriminator.embed)  # D's input is not normalized
    assert not of_type(discriminator, nn.modules.batchnorm._BatchNorm)
    assert not any(parametrize.is_parametrized(m) for m in generator.modules())
    assert of_type(generator, nn.BatchNorm2d) or of_type(generator, ConditionalBatchNorm)


def test_no_spectral_norm_when_switched_off():
    _, discriminator = models.build(tiny(d_spectral_norm=False, cond="projection"), (1, 28, 28), n_classes=3)
    assert not any(parametrize.is_parametrized(m) for m in discriminator.modules())
    assert not of_type(discriminator, nn.modules.batchnorm._BatchNorm)


def test_the_schema_defaults():
    from gan_cli.registry import MODELS

    settings = MODELS.settings({"name": "resnet"})
    assert (settings.z_dim, settings.width, settings.d_spectral_norm) == (128, 24, True)
    assert (settings.minibatch_std, settings.cond) == (False, "none")
    assert MODELS.get("resnet").kinds == ("image",)


# ---- conditioning, packing, minibatch std --------------------------------------------------------------

# every cond x pack x minibatch_std at 28x28 (the CIFAR-10 layout from 7x7); every cond at 32 and at
# 48 (the STL-10 layout) with both switches on
CASES = [
    *itertools.product([(1, 28, 28)], CONDITIONINGS, [1, 2], [False, True]),
    *itertools.product([(3, 32, 32), (3, 48, 48)], CONDITIONINGS, [2], [True]),
]


@pytest.mark.parametrize(("shape", "cond", "pack", "minibatch_std"), CASES)
def test_shapes_and_gradients_for_every_cond_pack_and_minibatch_std(shape, cond, pack, minibatch_std):
    width = 2 if shape[-1] == 48 else 4
    cfg = tiny(width=width, cond=cond, cond_dim=3, minibatch_std=minibatch_std)
    generator, discriminator = models.build(cfg, shape, n_classes=3, pack=pack)
    assert isinstance(generator, Generator) and isinstance(discriminator, Discriminator)
    assert generator.takes_labels == (cond != "none") and discriminator.cond == cond
    z, labels = torch.randn(4, 6), torch.tensor([0, 1, 2, 1])
    fake = generate(generator, z, labels)
    assert fake.shape == (4, *shape) and fake.abs().max() <= 1
    packed = pack_samples(fake, pack)
    if cond == "acgan":
        logits, classes = discriminator(packed, labels, with_classes=True)
        assert classes.shape == (4, 3)
        loss = logits.mean() + F.cross_entropy(classes, labels)
    else:
        logits = discriminator(packed, labels) if cond != "none" else discriminator(packed)
        loss = logits.mean()
    assert logits.shape == (4 // pack,)
    loss.backward()
    for module in (generator, discriminator):
        for where, param in module.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), where
            assert param.grad.abs().sum() > 0, f"{type(module).__name__}.{where} got no gradient"


@pytest.mark.parametrize("pack", [1, 2])
def test_minibatch_std_adds_one_map_before_the_sum_pooling(pack):
    from gan_cli.models.common import MinibatchStd

    _, discriminator = models.build(tiny(minibatch_std=True), (1, 28, 28), pack=pack)
    layers = list(discriminator.net)
    index = next(i for i, m in enumerate(layers) if isinstance(m, MinibatchStd))
    assert isinstance(layers[index - 1], nn.ReLU) and isinstance(layers[index + 1], blocks().SumPool)
    assert layers[-1].in_features == 4 + 1
    assert layers[0].c1.in_channels == pack
    _, plain = models.build(tiny(), (1, 28, 28), pack=pack)
    assert not of_type(plain, MinibatchStd) and plain.net[-1].in_features == 4


@pytest.mark.parametrize("pack", [1, 2])
def test_projection_logit_is_psi_plus_embedding_dot_the_pooled_features(pack):
    _, discriminator = models.build(tiny(cond="projection"), (3, 32, 32), n_classes=4, pack=pack)
    discriminator.eval()  # spectral norm's power iteration stands still
    x, labels = pack_samples(torch.randn(4, 3, 32, 32), pack), torch.tensor([1, 3, 0, 3])
    phi = discriminator.net(x)
    assert phi.shape == (4 // pack, 4)  # sum-pooled features
    psi = discriminator.head(phi).reshape(-1)
    summed = discriminator.project.weight[labels].reshape(4 // pack, pack, -1).sum(dim=1)
    assert torch.allclose(discriminator(x, labels), psi + (summed * phi).sum(dim=1), atol=1e-5)


def test_projection_g_has_conditional_batchnorm_in_its_blocks_and_reads_the_labels():
    generator, _ = models.build(tiny(cond="projection"), (1, 28, 28), n_classes=3)
    ups = of_type(generator, blocks().UpBlock)
    assert all(isinstance(m.b1, ConditionalBatchNorm) and isinstance(m.b2, ConditionalBatchNorm) for m in ups)
    assert len(of_type(generator, ConditionalBatchNorm)) == 2 * len(ups)
    assert len([m for m in generator.net if isinstance(m, nn.BatchNorm2d)]) == 1  # the last, as in the code
    assert generator.embed is None
    with torch.no_grad():
        ups[0].b1.gain.weight[1].mul_(3.0)
    generator.eval()
    z = torch.randn(1, 6).expand(2, 6)
    out = generator(z, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("cond", ["concat", "acgan"])
def test_g_dense_layer_reads_z_joined_to_the_label_embedding(cond):
    generator, _ = models.build(tiny(cond=cond, cond_dim=5), (1, 28, 28), n_classes=3)
    assert generator.net[0].in_features == 6 + 5 and generator.embed.weight.shape == (3, 5)
    seen = []
    generator.net[0].register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach()))
    z, labels = torch.randn(4, 6), torch.tensor([0, 2, 1, 2])
    generator.eval()
    generator(z, labels)
    assert torch.equal(seen[0], torch.cat((z, generator.embed(labels).detach()), dim=1))


@pytest.mark.parametrize("pack", [1, 2])
def test_concat_d_joins_constant_embedding_maps_to_each_samples_channels(pack):
    _, discriminator = models.build(tiny(cond="concat", cond_dim=2), (3, 32, 32), n_classes=5, pack=pack)
    first = discriminator.net[0]
    assert first.c1.in_channels == first.c_sc.in_channels == (3 + 2) * pack
    seen = []
    first.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach()))
    x, labels = torch.randn(4, 3, 32, 32), torch.tensor([4, 0, 2, 2])
    discriminator(pack_samples(x, pack), labels)
    maps = discriminator.embed(labels).detach()[:, :, None, None].expand(4, 2, 32, 32)
    assert torch.equal(seen[0], torch.cat((x, maps), dim=1).reshape(4 // pack, pack * 5, 32, 32))


def test_ac_class_head_reads_the_pooled_features_and_not_the_labels():
    _, discriminator = models.build(tiny(cond="acgan"), (1, 28, 28), n_classes=10, pack=2)
    discriminator.eval()
    assert discriminator.class_head.in_features == 4 and discriminator.class_head.out_features == 2 * 10
    x = torch.randn(3, 2, 28, 28)
    plain = discriminator(x)
    assert torch.equal(plain, discriminator(x, torch.arange(6)))
    logits, classes = discriminator(x, with_classes=True)
    assert torch.equal(plain, logits) and classes.shape == (6, 10)


def test_cond_none_matches_a_config_without_the_cond_fields():
    outputs = []
    for extra in ({}, {"cond": "none", "cond_dim": 7}):
        torch.manual_seed(3)
        generator, discriminator = models.build(tiny(**extra), (1, 28, 28), n_classes=10)
        fake = generator(torch.randn(4, 6))
        outputs.append(
            (list(generator.state_dict()), list(discriminator.state_dict()), fake, discriminator(fake))
        )
    (g0, d0, x0, y0), (g1, d1, x1, y1) = outputs
    assert g0 == g1 and d0 == d1 and torch.equal(x0, x1) and torch.equal(y0, y1)


# ---- training, checkpoint and sampling ---------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [["experiment=sngan_resnet", "trainer.d_steps=2"], ["model=resnet", "model.cond=projection"]],
    ids=["sngan_resnet", "projection"],
)
def test_gan_train_trains_a_few_steps_and_the_checkpoint_samples(tmp_path, monkeypatch, overrides):
    from gan_cli.commands.config import validate
    from gan_cli.commands.train import build, compose
    from gan_cli.sampling.generation import generate as sample
    from gan_cli.sampling.loading import load_generator
    from tests.data.fakes import write_idx_set

    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=32)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    cfg = compose(
        [
            *overrides,
            "data=mnist",
            "data.download=false",
            "model.width=2",
            "model.z_dim=8",
            "trainer.steps=2",
            "trainer.batch_size=4",
            "trainer.eval_every=0",
            "trainer.progress=false",
            "trainer.log_every=1",
            "trainer.sample_every=100",
            "trainer.ckpt_every=100",
        ]
    )
    validate(cfg, [])
    assert cfg.model.name == "resnet"
    reporter = SilentReporter()
    trainer = build(cfg, tmp_path / "run", reporter=reporter).trainer
    before = {k: v.clone() for k, v in trainer.recipe.generator.state_dict().items()}
    for _ in range(2):
        trainer.train_step()
    trainer.log_interval()
    record = reporter.last
    assert all(math.isfinite(v) for v in record.values() if isinstance(v, float)), record
    after = trainer.recipe.generator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())
    saved = trainer.save_checkpoint(periodic=False)
    del trainer

    loaded = load_generator(saved)  # nothing but the checkpoint
    assert loaded.shape == (1, 28, 28)
    z = torch.randn(3, 8)
    labels = torch.tensor([0, 4, 9]) if "model.cond=projection" in overrides else None
    (images,) = list(sample(loaded.generator, [z], "cpu", 1, labels))
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1
