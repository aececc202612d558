import math

import pytest
import torch
from torch import nn

from gan_cli.models import build

IMAGE_SHAPES = [(1, 28, 28), (3, 32, 32), (1, 16, 16), (3, 30, 20)]


def linear_layers(module):
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def batchnorm_layers(module):
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize("shape", IMAGE_SHAPES)
def test_images_have_the_data_shape_and_tanh_range(model_cfg, shape):
    generator, discriminator = build(model_cfg("mlp"), shape)
    assert generator.shape == discriminator.shape == shape
    assert generator.z_dim == 100
    with torch.no_grad():
        fake = generator(torch.randn(8, generator.z_dim))
        assert fake.shape == (8, *shape)
        assert fake.min() >= -1 and fake.max() <= 1
        assert discriminator(fake).shape == (8,)


def test_points_are_linear_not_squashed(model_cfg):
    generator, discriminator = build(model_cfg("mlp"), (2,))
    last = linear_layers(generator)[-1]
    assert not isinstance(generator.net[-1], nn.Tanh)
    with torch.no_grad():
        last.bias.fill_(10.0)
        points = generator(torch.randn(16, generator.z_dim))
        assert points.shape == (16, 2)
        assert points.min() > 1  # a tanh could never exceed 1
        assert discriminator(points).shape == (16,)


def test_image_output_stays_bounded_even_with_a_large_bias(model_cfg):
    generator, _ = build(model_cfg("mlp"), (1, 28, 28))
    with torch.no_grad():
        linear_layers(generator)[-1].bias.fill_(10.0)
        fake = generator(torch.randn(4, generator.z_dim))
    assert fake.max() <= 1


def test_default_layer_widths_follow_the_canonical_baseline(model_cfg):
    generator, discriminator = build(model_cfg("mlp"), (1, 28, 28))
    assert [m.out_features for m in linear_layers(generator)] == [128, 256, 512, 1024, 784]
    assert linear_layers(generator)[0].in_features == 100
    assert [m.out_features for m in linear_layers(discriminator)] == [512, 256, 1]
    assert linear_layers(discriminator)[0].in_features == 784
    # BN after every hidden Linear except the first.
    assert [m.num_features for m in batchnorm_layers(generator)] == [256, 512, 1024]
    assert batchnorm_layers(discriminator) == []


def test_layer_widths_follow_the_config(model_cfg):
    cfg = model_cfg("mlp", z_dim=8, g_hidden=[16, 32, 64], d_hidden=[40, 20, 10], slope=0.1)
    generator, discriminator = build(cfg, (3, 8, 8))
    assert generator.z_dim == 8
    assert [(m.in_features, m.out_features) for m in linear_layers(generator)] == [
        (8, 16),
        (16, 32),
        (32, 64),
        (64, 3 * 8 * 8),
    ]
    assert [(m.in_features, m.out_features) for m in linear_layers(discriminator)] == [
        (192, 40),
        (40, 20),
        (20, 10),
        (10, 1),
    ]
    slopes = {m.negative_slope for m in generator.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}


def test_list_fields_may_be_any_iterable(model_cfg):
    class ListLike:  # stands in for omegaconf's ListConfig, which is not a list
        def __init__(self, items):
            self.items = items

        def __iter__(self):
            return iter(self.items)

    cfg = model_cfg("mlp", g_hidden=ListLike([32, 64]), d_hidden=ListLike([16]))
    generator, discriminator = build(cfg, (2,))
    assert [m.out_features for m in linear_layers(generator)] == [32, 64, 2]
    assert [m.out_features for m in linear_layers(discriminator)] == [16, 1]


def test_no_hidden_layers_is_allowed(model_cfg):
    generator, discriminator = build(model_cfg("mlp", g_hidden=[], d_hidden=[]), (2,))
    assert len(linear_layers(generator)) == len(linear_layers(discriminator)) == 1
    assert discriminator(generator(torch.randn(3, 100))).shape == (3,)


def test_batchnorm_uses_the_default_eps(model_cfg):
    # BatchNorm1d(n, 0.8) in the popular baseline sets eps=0.8, which washes out the
    # normalization; we want the library defaults.
    generator, _ = build(model_cfg("mlp"), (1, 28, 28))
    norms = batchnorm_layers(generator)
    assert norms
    for norm in norms:
        assert norm.eps == pytest.approx(1e-5)
        assert norm.momentum == pytest.approx(0.1)


def test_batchnorm_can_be_switched_off(model_cfg):
    generator, _ = build(model_cfg("mlp", g_batchnorm=False), (1, 28, 28))
    assert batchnorm_layers(generator) == []


@pytest.mark.parametrize("shape", [(1, 28, 28), (2,)])
def test_gradients_reach_every_parameter(model_cfg, assert_gradients_reach_every_parameter, shape):
    assert_gradients_reach_every_parameter(*build(model_cfg("mlp"), shape))


@pytest.mark.parametrize("shape", [(1, 28, 28), (2,)])
def test_eval_mode_handles_a_batch_of_one(model_cfg, shape):
    generator, discriminator = build(model_cfg("mlp"), shape)
    generator.train()
    generator(torch.randn(4, generator.z_dim))  # fill BN running stats
    generator.eval()
    discriminator.eval()
    with torch.no_grad():
        sample = generator(torch.randn(1, generator.z_dim))
        assert sample.shape == (1, *shape)
        assert discriminator(sample).shape == (1,)
        assert torch.isfinite(sample).all()


def test_default_parameter_counts(model_cfg):
    generator, discriminator = build(model_cfg("mlp"), (1, 28, 28))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # Linear weights + biases, and BN scale + shift for the three normalized layers.
    widths = [100, 128, 256, 512, 1024, 784]
    expected_g = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True)) + 2 * (256 + 512 + 1024)
    assert count(generator) == expected_g == 1_510_032
    d_widths = [784, 512, 256, 1]
    assert count(discriminator) == sum(a * b + b for a, b in zip(d_widths[:-1], d_widths[1:], strict=True))
    assert math.prod(generator.shape) == 784
