"""Components registered from outside the package, through the `gan_cli.plugins` entry-point group:
a real distribution's metadata (a .dist-info folder on PYTHONPATH, as pip would install it) in a
fresh interpreter, so the command finds the plugin exactly as it would a pip-installed one."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

PLUGIN = '''
"""A model family from outside gan_cli: one module, registered at import."""
from dataclasses import dataclass

from gan_cli.registry import MODELS, Range


@dataclass
class TinyConfig:
    name: str = "tiny"
    z_dim: int = 4
    width: int = 16


@MODELS.register(
    "tiny",
    schema=TinyConfig,
    summary="a plugin's two-layer G and D",
    ranges={"z_dim": Range(1, 64), "width": Range(1, 256)},
    kinds=("points",),
)
def build(cfg, shape, n_classes=0, pack=1):
    import math

    from torch import nn

    from gan_cli.models.common import Discriminator, Generator

    c = MODELS.settings(cfg, "tiny")
    features = math.prod(shape)
    g = nn.Sequential(nn.Linear(c.z_dim, c.width), nn.ReLU(), nn.Linear(c.width, features))
    d = nn.Sequential(nn.Flatten(), nn.Linear(features * pack, c.width), nn.ReLU(), nn.Linear(c.width, 1))
    return Generator(g, shape, c.z_dim), Discriminator(d, shape, pack)
'''


def install(site, name: str, module: str, source: str) -> None:
    """What pip leaves for a distribution with one module and one gan_cli.plugins entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gan_cli.plugins]\n{name} = {module}\n")


def gan(site, cwd, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    env.pop("GAN_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "gan_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    install(folder, "gan-tiny", "gan_tiny_family", PLUGIN)
    return folder


def test_a_plugin_family_is_listed_in_help_with_its_summary(site, tmp_path):
    result = gan(site, tmp_path, "train", "--help")
    assert result.returncode == 0, result.stderr
    # Hydra's group listing: the plugin has no YAML
    assert "model: ae, dcgan, mlp, progan, resnet, tiny, vae" in result.stdout
    assert re.search(r"tiny +a plugin's two-layer G and D", result.stdout)  # aligned with the others
    assert "schema" not in result.stdout


def test_a_plugin_family_composes_with_every_key_shown(site, tmp_path):
    result = gan(site, tmp_path, "train", "--cfg", "job", "model=tiny", "data=ring8", "model.width=8")
    assert result.returncode == 0, result.stderr
    assert "name: tiny" in result.stdout and "z_dim: 4" in result.stdout and "width: 8" in result.stdout


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["model.widht=3"], "model.widht"),  # a typo'd key: the plugin's schema is closed
        (["+model.foo=1"], "unknown key 'model.foo'"),
        (["model.width=1000"], "model.width=1000 is out of range"),  # its own range
        (["model.z_dim=abc"], "model.z_dim"),  # its own type
    ],
)
def test_a_plugin_family_schema_refuses_bad_keys_in_one_line(site, tmp_path, overrides, expected):
    result = gan(site, tmp_path, "train", "model=tiny", "data=ring8", "trainer.steps=1", *overrides)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_plugin_familys_data_kinds_are_checked(site, tmp_path):
    result = gan(site, tmp_path, "train", "model=tiny", "data=mnist")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "model=tiny needs points data; data=mnist holds images" in result.stderr


def test_a_plugin_that_fails_to_import_is_one_line_naming_it(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "gan-broken", "gan_broken_plugin", "raise RuntimeError('boom')\n")
    for args in (["train", "--help"], ["sample", "ckpt=x.pt"], ["eval", "ckpt=x.pt"]):
        result = gan(site, tmp_path, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        assert "gan-broken" in result.stderr and "RuntimeError: boom" in result.stderr


@pytest.mark.slow
def test_a_plugin_family_trains_and_samples(site, tmp_path):
    short = ["trainer.steps=3", "trainer.log_every=1", "trainer.sample_every=3", "trainer.ckpt_every=3",
             "trainer.eval_every=0", "trainer.progress=false"]  # fmt: skip
    # recipe=gan: ring8 picks InfoGAN's 50-way code, which needs a z_dim of 51 or more
    result = gan(site, tmp_path, "train", "model=tiny", "data=ring8", "recipe=gan", *short)
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "outputs").glob("*/*-tiny-ring8")
    result = gan(site, tmp_path, "sample", f"ckpt={run}", "n=4", "format=npy", f"out={tmp_path / 's.npy'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "s.npy").is_file()
