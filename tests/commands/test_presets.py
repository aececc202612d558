"""The experiment presets reproduce the papers' settings and stay overridable."""

from pathlib import Path

import pytest

from gan_cli.commands.config import validate
from tests.helpers import compose_train

PRESETS = Path(__file__).parents[2] / "configs" / "experiment"

EXPECTED = {
    "dcgan": {"model.name": "dcgan", "loss.name": "ns", "optim.lr": 2e-4, "optim.betas": [0.5, 0.999]},
    "wgan": {
        "loss.name": "wgan",
        "loss.clip": 0.01,
        "optim.name": "rmsprop",
        "optim.lr": 5e-5,
        "trainer.d_steps": 5,
    },
    "wgan_gp": {
        "loss.name": "wgan",
        "loss.clip": 0.0,
        "loss.gp_lambda": 10.0,
        "optim.lr": 1e-4,
        "optim.betas": [0.0, 0.9],
        "trainer.d_steps": 5,
    },
    "lsgan": {"loss.name": "lsgan", "loss.a": -1.0, "loss.b": 1.0, "loss.c": 0.0},
    "sngan": {
        "loss.name": "hinge",
        "model.d_spectral_norm": True,
        "optim.betas": [0.0, 0.9],
        "trainer.d_steps": 5,
    },
    "r1": {"loss.name": "ns", "loss.r1_gamma": 10.0},
    "sngan_resnet": {
        "model.name": "resnet",
        "model.d_spectral_norm": True,
        "loss.name": "hinge",
        "optim.name": "adam",
        "optim.lr": 2e-4,
        "optim.betas": [0.0, 0.9],
        "optim.schedule": "linear",
        "trainer.d_steps": 5,
        "trainer.batch_size": 64,
    },
    "cgan_pd": {
        "model.name": "dcgan",
        "model.cond": "projection",
        "model.d_spectral_norm": True,
        "loss.name": "hinge",
        "optim.lr": 2e-4,
        "optim.betas": [0.0, 0.999],
    },
    "acgan": {
        "model.name": "dcgan",
        "model.cond": "acgan",
        "loss.name": "ns",
        "loss.ac_weight": 1.0,
        "optim.betas": [0.5, 0.999],
    },
    "infogan": {
        "model.name": "dcgan",
        "model.z_dim": 74,
        "recipe.name": "infogan",
        "recipe.categorical": [10],
        "recipe.continuous": 2,
        "recipe.lambda_cat": 1.0,
        "recipe.lambda_cont": 0.1,
        "loss.name": "ns",
        "optim.g_lr": 1e-3,
        "optim.d_lr": 2e-4,
        "optim.betas": [0.5, 0.999],
    },
    "progan": {
        "model.name": "progan",
        "recipe.name": "progan",
        "recipe.drift": 0.001,
        "loss.name": "wgan",
        "loss.gp_lambda": 10.0,
        "optim.lr": 1e-3,
        "optim.betas": [0.0, 0.99],
        "trainer.d_steps": 1,
        "trainer.ema.decay": 0.999,
    },
    "wavegan": {
        "model.name": "wavegan",
        "model.phase_shuffle": 2,
        "loss.name": "wgan",
        "loss.clip": 0.0,
        "loss.gp_lambda": 10.0,
        "optim.lr": 1e-4,
        "optim.betas": [0.5, 0.9],
        "trainer.d_steps": 5,
        "trainer.batch_size": 64,
    },
}
# the data each preset is checked on: a preset for another kind of data than images names it here
DATA = {"wavegan": ["data=audio_folder", "data.path=."]}


def value(cfg, dotted):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return list(node) if hasattr(node, "__len__") and not isinstance(node, str) else node


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_sets_the_paper_values(preset):
    cfg = compose_train(f"experiment={preset}", *DATA.get(preset, ["data=fashion_mnist"]))
    validate(cfg)
    for key, expected in EXPECTED[preset].items():
        assert value(cfg, key) == expected, key


def test_every_preset_is_tested_and_cites_its_paper():
    files = sorted(p.stem for p in PRESETS.glob("*.yaml"))
    assert files == sorted(EXPECTED)
    for path in PRESETS.glob("*.yaml"):
        assert any(str(year) in path.read_text() for year in range(2014, 2021)), path.name


def test_command_line_overrides_win_over_a_preset():
    cfg = compose_train("experiment=wgan_gp", "optim.lr=3e-4", "trainer.d_steps=2", "loss.gp_lambda=1")
    assert (cfg.optim.lr, cfg.trainer.d_steps, cfg.loss.gp_lambda) == (3e-4, 2, 1.0)
