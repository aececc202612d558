"""PacGAN packing (trainer.pack) and the minibatch standard deviation layer (model.minibatch_std)."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gan_cli import models
from gan_cli.models.common import MinibatchStd, pack_samples


def _first(module, kind):
    return next(m for m in module.modules() if isinstance(m, kind))


@pytest.mark.parametrize("pack", [1, 2, 4])
def test_mlp_d_takes_pack_times_the_features(pack):
    cfg = SimpleNamespace(name="mlp", z_dim=2, g_hidden=[8], d_hidden=[16], g_batchnorm=False)
    generator, discriminator = models.build(cfg, (2,), pack=pack)
    assert _first(discriminator, nn.Linear).in_features == 2 * pack
    assert _first(generator, nn.Linear).in_features == 2  # G does not change
    batch = torch.randn(8, 2)
    assert discriminator(pack_samples(batch, pack)).shape == (8 // pack,)


@pytest.mark.parametrize("pack", [1, 2, 4])
def test_dcgan_d_takes_pack_times_the_channels(pack):
    cfg = SimpleNamespace(name="dcgan", z_dim=4, width=8, d_batchnorm=False)
    generator, discriminator = models.build(cfg, (1, 32, 32), pack=pack)
    assert _first(discriminator, nn.Conv2d).in_channels == pack
    assert _first(generator, nn.ConvTranspose2d).in_channels == 4
    assert discriminator(pack_samples(torch.randn(8, 1, 32, 32), pack)).shape == (8 // pack,)


def test_packs_are_consecutive_samples_so_real_and_fake_never_share_one():
    real, fake = torch.arange(8.0).reshape(4, 2), -torch.arange(8.0).reshape(4, 2) - 1
    packed = pack_samples(torch.cat((real, fake)), 2)
    assert packed.shape == (4, 4)
    assert torch.equal(packed[0], torch.cat((real[0], real[1])))
    assert torch.equal(packed[2], torch.cat((fake[0], fake[1])))
    images = torch.randn(4, 3, 2, 2)
    stacked = pack_samples(images, 2)
    assert stacked.shape == (2, 6, 2, 2)
    assert torch.equal(stacked[1, :3], images[2]) and torch.equal(stacked[1, 3:], images[3])
    assert pack_samples(images, 1) is images
    with pytest.raises(ValueError, match="cannot be split into packs of 3"):
        pack_samples(images, 3)


def test_minibatch_std_appends_the_hand_computed_std_as_one_feature_map():
    x = torch.randn(5, 3, 4, 4)
    out = MinibatchStd()(x)
    assert out.shape == (5, 4, 4, 4) and torch.equal(out[:, :3], x)
    mean = x.mean(dim=0)
    by_hand = ((x - mean).square().mean(dim=0) + 1e-8).sqrt().mean()
    assert torch.allclose(out[:, 3], by_hand.expand(5, 4, 4))
    vectors = torch.randn(6, 7)
    flat = MinibatchStd()(vectors)
    assert flat.shape == (6, 8) and torch.allclose(flat[:, 7], vectors.std(dim=0, unbiased=False).mean())


@pytest.mark.parametrize(
    "cfg,shape,last",
    [
        (SimpleNamespace(name="mlp", d_hidden=[16], minibatch_std=True), (2,), 17),
        (SimpleNamespace(name="dcgan", width=8, minibatch_std=True), (1, 32, 32), 8 * 4 + 1),
    ],
)
def test_minibatch_std_sits_before_d_last_layer(cfg, shape, last):
    _, discriminator = models.build(cfg, shape)
    layers = list(discriminator.net)
    assert isinstance(layers[-2], MinibatchStd)
    final = layers[-1]
    assert (final.in_features if isinstance(final, nn.Linear) else final.in_channels) == last
    assert discriminator(torch.randn(4, *shape)).shape == (4,)


def test_off_by_default():
    _, discriminator = models.build(SimpleNamespace(name="mlp"), (2,))
    assert not any(isinstance(m, MinibatchStd) for m in discriminator.modules())
    assert _first(discriminator, nn.Linear).in_features == 2
