import pytest
import torch
from torch import nn

from gan_cli.models import build
from gan_cli.models.dcgan import MAX_WIDTH_MULTIPLIER, hidden_channels

# Large sizes get a narrow net so the suite stays fast.
SIZES_AND_WIDTHS = [(16, 64), (28, 64), (32, 64), (64, 32), (128, 8), (256, 4)]


def convs(module):
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def batchnorms(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("size", "width"), SIZES_AND_WIDTHS)
def test_native_sizes_round_trip(model_cfg, size, width, channels):
    shape = (channels, size, size)
    generator, discriminator = build(model_cfg("dcgan", width=width), shape)
    assert generator.shape == discriminator.shape == shape
    with torch.no_grad():
        fake = generator(torch.randn(2, generator.z_dim))
        assert fake.shape == (2, *shape)
        assert fake.min() >= -1 and fake.max() <= 1
        assert discriminator(fake).shape == (2,)


def test_28_grows_from_7x7_without_resizing(model_cfg):
    generator, discriminator = build(model_cfg("dcgan"), (1, 28, 28))
    sizes = []
    x = torch.randn(2, 100, 1, 1)
    for layer in generator.net:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(x.shape[-1])
    assert sizes == [7, 14, 28]
    assert discriminator.net[-1].kernel_size == (7, 7)


def test_layout_mirrors_the_paper_at_64(model_cfg):
    # Radford et al. Fig. 1 (with the reference code's 64-channel width): 4x4x512 ->
    # 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.
    generator, discriminator = build(model_cfg("dcgan"), (3, 64, 64))
    assert [c.out_channels for c in convs(generator)] == [512, 256, 128, 64, 3]
    assert convs(generator)[0].kernel_size == (4, 4)
    assert [c.out_channels for c in convs(discriminator)] == [64, 128, 256, 512, 1]
    assert isinstance(generator.net[-1], nn.Tanh)
    # The PyTorch DCGAN example's 3,576,704 plus the 3 output biases it leaves out.
    assert sum(p.numel() for p in generator.parameters()) == 3_576_704 + 3


def test_channels_are_capped_at_large_sizes():
    assert hidden_channels(256, 64) == [512, 512, 512, 256, 128, 64]
    assert max(hidden_channels(256, 64)) == MAX_WIDTH_MULTIPLIER * 64
    assert hidden_channels(28, 64) == [128, 64]
    assert hidden_channels(16, 10) == [20, 10]


def test_batchnorm_placement_and_conv_biases(model_cfg):
    generator, discriminator = build(model_cfg("dcgan"), (3, 32, 32))
    # Every hidden G layer has BN, the output layer does not.
    assert len(batchnorms(generator)) == len(convs(generator)) - 1
    # D's input layer and the logit layer have no BN.
    assert len(batchnorms(discriminator)) == len(convs(discriminator)) - 2
    assert isinstance(discriminator.net[1], nn.LeakyReLU)
    for module in (generator, discriminator):
        layers = list(module.net)
        for index, layer in enumerate(layers):
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                followed_by_bn = index + 1 < len(layers) and isinstance(layers[index + 1], nn.BatchNorm2d)
                assert (layer.bias is None) == followed_by_bn


def test_batchnorm_switches(model_cfg):
    cfg = model_cfg("dcgan", g_batchnorm=False, d_batchnorm=False)
    generator, discriminator = build(cfg, (1, 28, 28))
    assert batchnorms(generator) == batchnorms(discriminator) == []
    assert all(c.bias is not None for c in convs(generator) + convs(discriminator))


def test_activations_follow_the_paper(model_cfg):
    generator, discriminator = build(model_cfg("dcgan", slope=0.1), (1, 32, 32))
    assert not any(isinstance(m, nn.LeakyReLU) for m in generator.modules())
    assert any(isinstance(m, nn.ReLU) for m in generator.modules())
    slopes = {m.negative_slope for m in discriminator.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}


def test_weights_start_from_the_dcgan_init(model_cfg):
    generator, discriminator = build(model_cfg("dcgan"), (3, 32, 32))
    for module in (generator, discriminator):
        for conv in convs(module):
            if conv.weight.numel() >= 4096:
                assert conv.weight.mean().abs() < 0.002
                assert conv.weight.std().item() == pytest.approx(0.02, rel=0.1)
            if conv.bias is not None:
                assert torch.all(conv.bias == 0)
        for norm in batchnorms(module):
            assert norm.weight.mean().item() == pytest.approx(1.0, abs=0.01)
            assert norm.weight.std().item() == pytest.approx(0.02, rel=0.5)
            assert torch.all(norm.bias == 0)


@pytest.mark.parametrize("size", [16, 28, 32])
def test_gradients_reach_every_parameter(model_cfg, assert_gradients_reach_every_parameter, size):
    assert_gradients_reach_every_parameter(*build(model_cfg("dcgan", width=16), (3, size, size)))


def test_eval_mode_handles_a_batch_of_one(model_cfg):
    generator, discriminator = build(model_cfg("dcgan"), (1, 28, 28))
    generator.eval()
    discriminator.eval()
    with torch.no_grad():
        sample = generator(torch.randn(1, generator.z_dim))
        assert sample.shape == (1, 1, 28, 28)
        assert discriminator(sample).shape == (1,)


def test_z_may_arrive_as_a_1x1_map(model_cfg):
    generator, _ = build(model_cfg("dcgan", z_dim=32), (1, 16, 16))
    assert generator(torch.randn(2, 32, 1, 1)).shape == (2, 1, 16, 16)


@pytest.mark.parametrize("shape", [(1, 30, 30), (3, 512, 512), (3, 32, 64), (1, 8, 8), (1, 48, 48)])
def test_unsupported_sizes_name_the_size_and_the_choices(model_cfg, raises_one_line_user_error, shape):
    _, height, width = shape
    with raises_one_line_user_error(f"{height}x{width}", "16", "28", "256"):
        build(model_cfg("dcgan"), shape)


def test_points_need_the_mlp(model_cfg, raises_one_line_user_error):
    with raises_one_line_user_error("image", "model=mlp"):
        build(model_cfg("dcgan"), (2,))


def test_default_parameter_counts(model_cfg):
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    generator, discriminator = build(model_cfg("dcgan"), (1, 28, 28))
    assert (count(generator), count(discriminator)) == (759_681, 138_689)
    generator, discriminator = build(model_cfg("dcgan"), (3, 32, 32))
    assert (count(generator), count(discriminator)) == (1_068_931, 663_361)
