"""model.d_spectral_norm: Miyato et al. 2018 on every weight layer of D."""

import io

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gan_cli.models import build

CASES = [
    ("mlp", (1, 28, 28), {"d_hidden": [64, 32]}),
    ("mlp", (2,), {}),
    ("dcgan", (1, 28, 28), {"width": 16}),
    ("dcgan", (3, 32, 32), {"width": 16}),
]
IDS = ["mlp-image", "mlp-points", "dcgan-28", "dcgan-32"]


def weight_layers(module):
    return [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]


def spectral_norm_of(layer) -> float:
    # The matrix SN normalizes: out-channels by everything else (Miyato et al. 2018, sec. 2.1).
    return torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item()


def spectral_norm_of_original(layer) -> float:
    return torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach().flatten(1), ord=2).item()


@pytest.mark.parametrize(("name", "shape", "fields"), CASES, ids=IDS)
def test_every_discriminator_layer_is_wrapped_and_the_generator_is_not(model_cfg, name, shape, fields):
    generator, discriminator = build(model_cfg(name, d_spectral_norm=True, **fields), shape)
    layers = weight_layers(discriminator)
    assert layers and all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    assert not any(parametrize.is_parametrized(layer) for layer in weight_layers(generator))


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_off_by_default(model_cfg, name):
    _, discriminator = build(model_cfg(name), (1, 28, 28))
    assert not any(parametrize.is_parametrized(layer) for layer in weight_layers(discriminator))


@pytest.mark.parametrize(("name", "shape", "fields"), CASES, ids=IDS)
def test_largest_singular_value_is_one_after_power_iterations(model_cfg, name, shape, fields):
    _, discriminator = build(model_cfg(name, d_spectral_norm=True, **fields), shape)
    raw = [spectral_norm_of_original(layer) for layer in weight_layers(discriminator)]
    assert max(abs(s - 1) for s in raw) > 0.1  # else the check below could pass without SN
    discriminator.train()
    with torch.no_grad():
        for _ in range(50):  # each train-mode forward runs one power iteration per layer
            discriminator(torch.randn(4, *shape))
    discriminator.eval()  # read the weights without another iteration
    for layer in weight_layers(discriminator):
        assert spectral_norm_of(layer) == pytest.approx(1.0, abs=0.05)


def test_dcgan_drops_batchnorm_in_d_under_spectral_norm(model_cfg):
    cfg = model_cfg("dcgan", d_spectral_norm=True, d_batchnorm=True, g_batchnorm=True)
    generator, discriminator = build(cfg, (3, 32, 32))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())
    assert all(layer.bias is not None for layer in weight_layers(discriminator))  # no BN shift to stand in
    assert any(isinstance(m, nn.BatchNorm2d) for m in generator.modules())  # G keeps its own


@pytest.mark.parametrize(("name", "shape", "fields"), CASES, ids=IDS)
def test_state_dict_round_trips_with_weights_only(model_cfg, name, shape, fields):
    cfg = model_cfg(name, d_spectral_norm=True, **fields)
    _, discriminator = build(cfg, shape)
    discriminator.train()
    with torch.no_grad():
        for _ in range(3):
            discriminator(torch.randn(4, *shape))  # move u and v away from their initial values
    buffer = io.BytesIO()
    torch.save(discriminator.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert any(key.endswith("parametrizations.weight.original") for key in state)
    assert any(key.endswith("parametrizations.weight.0._u") for key in state)

    torch.manual_seed(123)
    _, restored = build(cfg, shape)
    restored.load_state_dict(state)
    discriminator.eval()
    restored.eval()
    x = torch.randn(5, *shape)
    with torch.no_grad():
        torch.testing.assert_close(restored(x), discriminator(x))


@pytest.mark.parametrize(("name", "shape", "fields"), CASES, ids=IDS)
def test_gradients_reach_every_parameter(
    model_cfg, assert_gradients_reach_every_parameter, name, shape, fields
):
    assert_gradients_reach_every_parameter(*build(model_cfg(name, d_spectral_norm=True, **fields), shape))


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_a_non_boolean_switch_names_the_key(model_cfg, raises_one_line_user_error, name):
    with raises_one_line_user_error("model.d_spectral_norm="):
        build(model_cfg(name, d_spectral_norm="yes"), (1, 28, 28))


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_the_config_key_composes(name):
    # Imported here: the other model tests need no Hydra.
    from gan_cli.commands.config import validate
    from tests.helpers import compose_train

    assert compose_train(f"model={name}").model.d_spectral_norm is False
    cfg = compose_train(f"model={name}", "model.d_spectral_norm=true")
    validate(cfg)
    _, discriminator = build(cfg.model, (1, 28, 28))
    assert all(parametrize.is_parametrized(layer, "weight") for layer in weight_layers(discriminator))
