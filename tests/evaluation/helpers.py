"""What the tests of `gan eval` share: train configs, tiny generators, checkpoints in the
trainer's format, eval configs checked as the command checks them."""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from gan_cli import models
from gan_cli.commands.config import EvalConfig, validate_eval
from gan_cli.outputs import checkpoint
from tests.helpers import compose_train

SMALL_MLP = ["model.g_hidden=[32,64]", "model.d_hidden=[32]", "model.z_dim=16"]


def train_config(*overrides: str) -> dict:
    return OmegaConf.to_container(compose_train(*overrides), resolve=True)


def tiny_generator(config: dict, shape: tuple[int, ...], seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    generator, _ = models.build(OmegaConf.create(config["model"]), shape)
    return generator


def write_checkpoint(path: Path, config: dict, shape: tuple[int, ...], ema: bool = False) -> Path:
    generator = tiny_generator(config, shape)
    payload = {"config": config, "step": 7, "generator": generator.state_dict()}
    if ema:
        payload["ema_generator"] = tiny_generator(config, shape, seed=1).state_dict()
    return checkpoint.save(payload, path)


def eval_cfg(ckpt, **overrides):
    cfg = OmegaConf.structured(EvalConfig(ckpt=str(ckpt)))
    for key, value in {"device": "cpu", **overrides}.items():
        cfg[key] = value  # the schema type-checks each value, as Hydra would
    validate_eval(cfg)
    return cfg


def quiet(_: str) -> None:
    pass
