"""Class-conditional networks (model.cond, #12): concat (Mirza & Osindero 2014), projection
(Miyato & Koyama 2018), acgan (Odena et al. 2017), checked against their formulas on hand-set
weights, plus shapes and gradients for every family x conditioning."""

import io
import itertools
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gan_cli import models
from gan_cli.models.common import (
    ClassProjection,
    ConditionalBatchNorm,
    Discriminator,
    Generator,
    pack_samples,
)
from gan_cli.models.conditioning import CONDITIONINGS, DEFAULT_COND_DIM
from gan_cli.models.contract import generate

CONDS = ("concat", "projection", "acgan")


def tiny(name, **fields):
    base = {"mlp": {"z_dim": 6, "g_hidden": [8, 12], "d_hidden": [10]}, "dcgan": {"z_dim": 6, "width": 4}}
    return SimpleNamespace(name=name, **{**base[name], **fields})


def capture_input(module):
    seen = []
    module.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].detach().clone()))
    return seen


# ---- the schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_schemas_default_to_unconditional(name):
    from gan_cli.registry import MODELS

    settings = MODELS.settings({"name": name})
    assert (settings.cond, settings.cond_dim) == ("none", DEFAULT_COND_DIM)
    assert CONDITIONINGS == ("none", "concat", "projection", "acgan")


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_unknown_cond_is_one_line_naming_the_valid_ones(model_cfg, raises_one_line_user_error, name):
    with raises_one_line_user_error("model.cond='foo'", *CONDITIONINGS):
        models.build(model_cfg(name, cond="foo"), (1, 28, 28), n_classes=10)


@pytest.mark.parametrize("value", [0, 65_537, "8"])
def test_bad_cond_dim_names_the_key(model_cfg, raises_one_line_user_error, value):
    with raises_one_line_user_error("model.cond_dim="):
        models.build(model_cfg("mlp", cond="concat", cond_dim=value), (2,), n_classes=3)


def test_config_validate_refuses_an_unknown_cond_in_one_line():
    from omegaconf import OmegaConf

    from gan_cli.commands.config import validate
    from gan_cli.errors import UserError
    from tests.helpers import compose_train

    cfg = compose_train("data=ring8")
    OmegaConf.update(cfg, "model.cond", "projektion")
    with pytest.raises(UserError) as caught:
        validate(cfg)
    message = str(caught.value)
    assert message.startswith("model.cond='projektion'") and "\n" not in message
    assert all(word in message for word in CONDITIONINGS)


@pytest.mark.parametrize("cond", CONDS)
@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_conditional_model_on_unlabelled_data_is_one_line(raises_one_line_user_error, name, cond):
    with raises_one_line_user_error(f"model.cond={cond}", "data=folder", "class subfolders"):
        models.build(tiny(name, cond=cond), (1, 28, 28), n_classes=0, data_name="folder")


# ---- cond=none is exactly the unconditional model ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape"), [("mlp", (2,)), ("mlp", (1, 28, 28)), ("dcgan", (3, 32, 32)), ("dcgan", (1, 28, 28))]
)
@pytest.mark.parametrize("pack", [1, 2])
def test_cond_none_matches_a_config_without_the_new_fields(name, shape, pack):
    outputs = []
    for extra in ({}, {"cond": "none", "cond_dim": 7}):
        torch.manual_seed(3)
        generator, discriminator = models.build(tiny(name, minibatch_std=True, **extra), shape, 10, pack=pack)
        z = torch.randn(4, generator.z_dim)
        fake = generator(z)
        outputs.append((generator, discriminator, fake, discriminator(pack_samples(fake, pack))))
    (g0, d0, x0, y0), (g1, d1, x1, y1) = outputs
    assert list(g0.state_dict()) == list(g1.state_dict()) and list(d0.state_dict()) == list(d1.state_dict())
    assert torch.equal(x0, x1) and torch.equal(y0, y1)
    for generator, discriminator in ((g0, d0), (g1, d1)):
        assert not generator.takes_labels and generator.n_classes == 0 and generator.cond == "none"
        assert not discriminator.has_class_head and discriminator.n_classes == 0
        assert [n for n, _ in generator.named_children()] == ["net"]
        assert [n for n, _ in discriminator.named_children()] == ["net"]
    assert Generator.takes_labels is False


# ---- concat -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "shape"), [("mlp", (2,)), ("dcgan", (1, 28, 28))])
@pytest.mark.parametrize("cond", ["concat", "acgan"])
def test_g_first_layer_reads_z_joined_to_the_label_embedding(name, shape, cond):
    generator, _ = models.build(tiny(name, cond=cond, cond_dim=5), shape, n_classes=3)
    assert generator.takes_labels and generator.n_classes == 3 and generator.cond == cond
    assert generator.embed.weight.shape == (3, 5)
    seen = capture_input(generator.net[0])
    z, labels = torch.randn(4, 6), torch.tensor([0, 2, 1, 2])
    generator.eval()
    generator(z, labels)
    expected = torch.cat((z, generator.embed(labels).detach()), dim=1)
    if name == "dcgan":
        expected = expected.reshape(4, 11, 1, 1)
    assert torch.equal(seen[0], expected)


@pytest.mark.parametrize("pack", [1, 2])
def test_mlp_concat_d_joins_each_samples_embedding_to_its_features_before_packing(pack):
    _, discriminator = models.build(tiny("mlp", cond="concat", cond_dim=3), (1, 2, 2), n_classes=4, pack=pack)
    first = discriminator.net[1]
    assert first.in_features == (4 + 3) * pack
    seen = capture_input(first)
    x, labels = torch.randn(4, 1, 2, 2), torch.tensor([3, 0, 1, 1])
    discriminator(pack_samples(x, pack), labels)
    embedded = discriminator.embed(labels).detach()
    per_sample = [torch.cat((x[i].flatten(), embedded[i])) for i in range(4)]
    expected = torch.stack([torch.cat(per_sample[i : i + pack]) for i in range(0, 4, pack)])
    assert torch.equal(seen[0], expected)


@pytest.mark.parametrize("pack", [1, 2])
def test_dcgan_concat_d_joins_constant_embedding_maps_to_each_samples_channels(pack):
    _, discriminator = models.build(
        tiny("dcgan", cond="concat", cond_dim=2), (3, 32, 32), n_classes=5, pack=pack
    )
    first = discriminator.net[0]
    assert first.in_channels == (3 + 2) * pack
    seen = capture_input(first)
    x, labels = torch.randn(4, 3, 32, 32), torch.tensor([4, 0, 2, 2])
    discriminator(pack_samples(x, pack), labels)
    embedded = discriminator.embed(labels).detach()
    maps = embedded[:, :, None, None].expand(4, 2, 32, 32)
    per_sample = torch.cat((x, maps), dim=1)  # (4, 5, 32, 32)
    assert torch.equal(seen[0], per_sample.reshape(4 // pack, pack * 5, 32, 32))


# ---- projection -------------------------------------------------------------------------------------


def test_projection_logit_is_psi_plus_embedding_dot_phi_on_hand_made_features():
    _, discriminator = models.build(tiny("mlp", cond="projection", d_hidden=[2]), (2,), n_classes=3)
    with torch.no_grad():
        trunk = discriminator.net[1]  # Linear(2, 2): phi = LeakyReLU(x) = x for x > 0
        trunk.weight.copy_(torch.eye(2))
        trunk.bias.zero_()
        discriminator.head.weight.copy_(torch.tensor([[0.5, -2.0]]))
        discriminator.head.bias.fill_(0.25)
        discriminator.project.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 3.0], [-1.0, 2.0]]))
    x = torch.tensor([[1.0, 2.0], [3.0, 0.5], [0.1, 4.0]])
    labels = torch.tensor([2, 0, 1])
    embed = {0: (1.0, 0.0), 1: (0.0, 3.0), 2: (-1.0, 2.0)}
    expected = [
        0.5 * a - 2.0 * b + 0.25 + embed[y][0] * a + embed[y][1] * b
        for (a, b), y in zip(x.tolist(), labels.tolist(), strict=True)
    ]
    assert torch.allclose(discriminator(x, labels), torch.tensor(expected))


@pytest.mark.parametrize(
    ("name", "shape"), [("mlp", (1, 28, 28)), ("dcgan", (3, 32, 32)), ("dcgan", (1, 28, 28))]
)
@pytest.mark.parametrize("pack", [1, 2])
@pytest.mark.parametrize("minibatch_std", [False, True])
def test_projection_phi_is_what_ds_last_layer_reads_and_packs_sum_their_embeddings(
    name, shape, pack, minibatch_std
):
    _, discriminator = models.build(
        tiny(name, cond="projection", minibatch_std=minibatch_std), shape, 4, pack=pack
    )
    discriminator.eval()
    x, labels = pack_samples(torch.randn(4, *shape), pack), torch.tensor([1, 3, 0, 3])
    phi = discriminator.net(x)
    if name == "dcgan":
        assert isinstance(discriminator.head, nn.Conv2d) and discriminator.head.kernel_size == phi.shape[-2:]
    psi = discriminator.head(phi).reshape(-1)
    embedding = discriminator.project.weight
    assert embedding.shape == (4, phi[0].numel())
    summed = embedding[labels].reshape(4 // pack, pack, -1).sum(dim=1)
    expected = psi + (summed * phi.reshape(4 // pack, -1)).sum(dim=1)
    assert torch.allclose(discriminator(x, labels), expected, atol=1e-5)


def test_conditional_batchnorm_applies_each_classes_gain_and_bias():
    layer = ConditionalBatchNorm(3, 2)
    with torch.no_grad():
        layer.gain.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]]))
        layer.bias.weight.copy_(torch.tensor([[0.0, 1.0, -1.0], [10.0, 20.0, 30.0]]))
    x = torch.tensor([[1.0, 2.0, 3.0], [2.0, -1.0, 0.0], [4.0, 0.0, 1.0], [-3.0, 5.0, 2.0]])
    labels = torch.tensor([0, 1, 1, 0])
    mean, var = x.mean(0), x.var(0, unbiased=False)
    normalized = (x - mean) / torch.sqrt(var + 1e-5)
    gains = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])[labels]
    biases = torch.tensor([[0.0, 1.0, -1.0], [10.0, 20.0, 30.0]])[labels]
    assert torch.allclose(layer(x, labels), normalized * gains + biases, atol=1e-5)


def test_conditional_batchnorm_on_maps_and_the_affine_alone():
    maps = ConditionalBatchNorm(2, 2, maps=True)
    with torch.no_grad():
        maps.gain.weight.copy_(torch.tensor([[2.0, 3.0], [5.0, 7.0]]))
        maps.bias.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 0.0]]))
    x, labels = torch.randn(3, 2, 4, 4), torch.tensor([1, 0, 1])
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-5) * maps.gain.weight[labels][:, :, None, None]
    expected = expected + maps.bias.weight[labels][:, :, None, None]
    assert torch.allclose(maps(x, labels), expected.detach(), atol=1e-5)

    affine = ConditionalBatchNorm(2, 2, normalize=False)
    assert affine.norm is None
    with torch.no_grad():
        affine.gain.weight.copy_(torch.tensor([[2.0, 3.0], [5.0, 7.0]]))
        affine.bias.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 0.0]]))
    v = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(affine(v, torch.tensor([0, 1])), torch.tensor([[3.0, 5.0], [15.5, 28.0]]))


def test_conditional_batchnorm_starts_as_the_identity_affine():
    layer = ConditionalBatchNorm(4, 3)
    assert torch.equal(layer.gain.weight, torch.ones(3, 4)) and torch.equal(
        layer.bias.weight, torch.zeros(3, 4)
    )


@pytest.mark.parametrize("g_batchnorm", [True, False])
def test_mlp_projection_g_has_a_class_affine_on_every_hidden_layer(g_batchnorm):
    generator, _ = models.build(tiny("mlp", cond="projection", g_batchnorm=g_batchnorm), (2,), n_classes=3)
    layers = [m for m in generator.net if isinstance(m, ConditionalBatchNorm)]
    assert len(layers) == 2  # g_hidden=[8, 12]
    assert layers[0].norm is None  # the first hidden layer has no BN
    assert (layers[1].norm is not None) == g_batchnorm
    assert not any(isinstance(m, nn.BatchNorm1d) and m.affine for m in generator.modules())


@pytest.mark.parametrize("g_batchnorm", [True, False])
def test_dcgan_projection_g_makes_every_batchnorm_conditional(g_batchnorm):
    plain, _ = models.build(tiny("dcgan", g_batchnorm=g_batchnorm), (1, 28, 28))
    generator, _ = models.build(tiny("dcgan", cond="projection", g_batchnorm=g_batchnorm), (1, 28, 28), 3)
    hidden = sum(isinstance(m, nn.ConvTranspose2d) for m in plain.net) - 1
    conditional = [m for m in generator.net if isinstance(m, ConditionalBatchNorm)]
    assert len(conditional) == hidden
    assert all((m.norm is not None) == g_batchnorm for m in conditional)
    assert not any(isinstance(m, nn.BatchNorm2d) and m.affine for m in generator.modules())
    # after init_dcgan_weights the gains are still 1 and the biases 0
    assert all(torch.equal(m.gain.weight, torch.ones_like(m.gain.weight)) for m in conditional)
    assert all(torch.equal(m.bias.weight, torch.zeros_like(m.bias.weight)) for m in conditional)


def test_projection_g_output_follows_the_labels_gains():
    generator, _ = models.build(tiny("mlp", cond="projection"), (2,), n_classes=2)
    with torch.no_grad():
        for layer in generator.net:
            if isinstance(layer, ConditionalBatchNorm):
                layer.gain.weight[1].mul_(3.0)
    generator.eval()
    z = torch.randn(1, 6).expand(2, 6)
    out = generator(z, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_spectral_norm_covers_the_projection_embedding_but_not_concats(name):
    from torch.nn.utils import parametrize

    shape = (1, 28, 28)
    _, projected = models.build(tiny(name, cond="projection", d_spectral_norm=True), shape, n_classes=3)
    _, joined = models.build(tiny(name, cond="concat", d_spectral_norm=True), shape, n_classes=3)
    assert isinstance(projected.project, ClassProjection) and parametrize.is_parametrized(projected.project)
    assert not parametrize.is_parametrized(joined.embed)
    assert parametrize.is_parametrized(projected.head)
    _, unnormalized = models.build(tiny(name, cond="projection"), shape, n_classes=3)
    assert not parametrize.is_parametrized(unnormalized.project)


# ---- acgan ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "shape"), [("mlp", (2,)), ("mlp", (3, 8, 8)), ("dcgan", (3, 32, 32))])
@pytest.mark.parametrize("pack", [1, 2, 4])
def test_ac_class_logits_are_raw_one_row_per_sample(name, shape, pack):
    _, discriminator = models.build(tiny(name, cond="acgan"), shape, n_classes=3, pack=pack)
    assert discriminator.has_class_head and discriminator.n_classes == 3
    assert not any(isinstance(m, (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)) for m in discriminator.modules())
    with torch.no_grad():  # every pack's class outputs: sample j of the pack gets block j
        discriminator.class_head.weight.zero_()
        discriminator.class_head.bias.copy_(torch.arange(pack * 3, dtype=torch.float) - 2.5)
    x = pack_samples(torch.randn(4 * pack, *shape), pack)
    logits, classes = discriminator(x, with_classes=True)
    assert logits.shape == (4,) and classes.shape == (4 * pack, 3)
    expected = (torch.arange(pack * 3, dtype=torch.float) - 2.5).reshape(pack, 3).repeat(4, 1)
    assert torch.equal(classes, expected)  # raw: no softmax, negative and > 1 values kept


def test_ac_real_fake_logit_does_not_read_the_labels():
    _, discriminator = models.build(tiny("dcgan", cond="acgan"), (1, 28, 28), n_classes=10)
    discriminator.eval()
    x = torch.randn(3, 1, 28, 28)
    plain = discriminator(x)
    assert torch.equal(plain, discriminator(x, torch.tensor([1, 2, 3])))
    assert torch.equal(plain, discriminator(x, torch.tensor([1, 2, 3]), with_classes=True)[0])


@pytest.mark.parametrize("cond", ["none", "concat", "projection"])
def test_class_logits_need_acgan(cond):
    _, discriminator = models.build(tiny("mlp", cond=cond), (2,), n_classes=2)
    with pytest.raises(ValueError, match="acgan"):
        discriminator(torch.randn(2, 2), torch.tensor([0, 1]), with_classes=True)


@pytest.mark.parametrize("cond", ["concat", "projection"])
def test_label_reading_d_and_conditional_g_need_labels(cond):
    generator, discriminator = models.build(tiny("mlp", cond=cond), (2,), n_classes=2, pack=2)
    with pytest.raises(ValueError, match="label"):
        discriminator(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"expected \(4,\)"):
        discriminator(torch.randn(2, 4), torch.tensor([0, 1]))  # one label per pack, not per sample
    with pytest.raises(ValueError, match="label"):
        generator(torch.randn(2, 6))


# ---- every family x conditioning --------------------------------------------------------------------

SHAPES = [
    ("mlp", (2,)),
    ("mlp", (1, 28, 28)),
    ("mlp", (3, 32, 32)),
    ("dcgan", (1, 28, 28)),
    ("dcgan", (3, 32, 32)),
]
CASES = [
    (name, shape, cond, pack, minibatch_std, spectral_norm)
    for (name, shape), cond, pack, minibatch_std, spectral_norm in itertools.product(
        SHAPES, CONDITIONINGS, [1, 2], [False, True], [False, True]
    )
]


@pytest.mark.parametrize(("name", "shape", "cond", "pack", "minibatch_std", "spectral_norm"), CASES)
def test_shapes_and_gradients_reach_every_parameter(name, shape, cond, pack, minibatch_std, spectral_norm):
    cfg = tiny(name, cond=cond, cond_dim=4, minibatch_std=minibatch_std, d_spectral_norm=spectral_norm)
    generator, discriminator = models.build(cfg, shape, n_classes=3, pack=pack)
    assert isinstance(generator, Generator) and isinstance(discriminator, Discriminator)
    assert generator.takes_labels == (cond != "none") and discriminator.cond == cond
    batch = 4
    z, labels = torch.randn(batch, generator.z_dim), torch.tensor([0, 1, 2, 1])
    fake = generate(generator, z, labels)
    assert fake.shape == (batch, *shape)
    packed = pack_samples(fake, pack)
    if cond == "acgan":
        logits, classes = discriminator(packed, labels, with_classes=True)
        assert classes.shape == (batch, 3)
        loss = logits.mean() + nn.functional.cross_entropy(classes, labels)
    else:
        logits = discriminator(packed, labels) if cond != "none" else discriminator(packed)
        loss = logits.mean()
    assert logits.shape == (batch // pack,)
    loss.backward()
    for module in (generator, discriminator):
        for where, param in module.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), where
            assert param.grad.abs().sum() > 0, f"{type(module).__name__}.{where} got no gradient"
    if cond != "none":
        embeddings = [
            m for m in (*generator.modules(), *discriminator.modules()) if isinstance(m, nn.Embedding)
        ]
        assert embeddings


@pytest.mark.parametrize("cond", CONDS)
def test_dcgan_64_and_16_build_for_every_cond(cond):
    for size in (16, 64):
        generator, discriminator = models.build(tiny("dcgan", cond=cond), (3, size, size), n_classes=2)
        labels = torch.tensor([0, 1])
        fake = generator(torch.randn(2, 6), labels)
        assert fake.shape == (2, 3, size, size)
        assert discriminator(fake, labels).shape == (2,)


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
@pytest.mark.parametrize("cond", CONDS)
def test_conditional_weights_reload_into_a_fresh_build(name, cond):
    cfg = tiny(name, cond=cond, d_spectral_norm=True)
    generator, discriminator = models.build(cfg, (1, 28, 28), n_classes=4, pack=2)
    buffer = io.BytesIO()
    torch.save({"g": generator.state_dict(), "d": discriminator.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    torch.manual_seed(123)
    fresh_g, fresh_d = models.build(cfg, (1, 28, 28), n_classes=4, pack=2)
    fresh_g.load_state_dict(saved["g"])
    fresh_d.load_state_dict(saved["d"])
    generator.eval(), fresh_g.eval()
    z, labels = torch.randn(3, 6), torch.tensor([3, 0, 2])
    assert torch.equal(generator(z, labels), fresh_g(z, labels))
