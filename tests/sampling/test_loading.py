"""Which checkpoint and which weights `gan sample` reads, and checkpoints it refuses."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from gan_cli import models, sampling
from gan_cli.data.shapes import data_shape
from gan_cli.errors import UserError
from tests.sampling.helpers import (
    BAD_CHECKPOINTS,
    SMALL_MLP,
    bad_checkpoint,
    run,
    train_config,
    write_checkpoint,
)


# ---- which weights -------------------------------------------------------------------------------------
def test_ema_weights_are_used_when_present_unless_turned_off(tmp_path):
    config = train_config("data=mnist", *SMALL_MLP)
    torch.manual_seed(9)
    ema, _ = models.build(OmegaConf.create(config["model"]), (1, 28, 28))
    path = write_checkpoint(tmp_path / "ema.pt", config, (1, 28, 28), ema_generator=ema.state_dict())
    ema.eval()
    with torch.no_grad():
        expected = ema(sampling.latents(sampling.sample_seed(0), 4, 16))
    with_ema = np.load(run(path, n=4, format="npy", out=str(tmp_path / "ema.npy"))[0])
    without = np.load(run(path, n=4, format="npy", use_ema=False, out=str(tmp_path / "raw.npy"))[0])
    np.testing.assert_allclose(with_ema, expected.numpy(), atol=1e-6)
    assert not np.allclose(with_ema, without)


def test_a_shape_in_the_checkpoint_wins_over_the_data_config(tmp_path):
    config = train_config("data=folder", "data.path=somewhere", "data.image_size=64", *SMALL_MLP)
    path = write_checkpoint(tmp_path / "small.pt", config, (1, 16, 16), shape=[1, 16, 16])
    array = np.load(run(path, n=3, format="npy", out=str(tmp_path / "s.npy"))[0])
    assert array.shape == (3, 1, 16, 16)


@pytest.mark.parametrize(
    "cfg,shape",
    [
        ({"name": "mnist"}, (1, 28, 28)),
        ({"name": "fashion_mnist"}, (1, 28, 28)),
        ({"name": "cifar10"}, (3, 32, 32)),
        ({"name": "folder", "image_size": 48, "channels": 1}, (1, 48, 48)),
        ({"name": "folder"}, (3, 64, 64)),
        ({"name": "ring8"}, (2,)),
        ({"name": "grid25"}, (2,)),
    ],
)
def test_data_shape_from_the_config_alone(cfg, shape):
    assert data_shape(cfg) == shape
    assert data_shape(OmegaConf.create(cfg)) == shape


def test_data_shape_of_an_unknown_set_is_a_user_error():
    with pytest.raises(UserError, match="unknown data set 'imagenet'"):
        data_shape({"name": "imagenet"})


# ---- which checkpoint ------------------------------------------------------------------------------------
def test_a_run_folder_means_its_best_checkpoint_else_its_last(ckpts, tmp_path):
    folder = tmp_path / "10-00-00-mlp-mnist"
    (folder / "checkpoints").mkdir(parents=True)
    last = folder / "checkpoints" / "last.pt"
    last.write_bytes(ckpts["mnist"].read_bytes())
    assert sampling.resolve_checkpoint(folder) == last
    assert sampling.resolve_checkpoint(folder / "checkpoints") == last
    best = folder / "checkpoints" / "best.pt"
    best.write_bytes(ckpts["mnist"].read_bytes())
    assert sampling.resolve_checkpoint(folder) == best
    assert sampling.resolve_checkpoint(last) == last
    assert run(folder, n=2, out=str(tmp_path / "s.png")) == [tmp_path / "s.png"]


@pytest.mark.parametrize("kind", BAD_CHECKPOINTS)
def test_bad_checkpoints_are_one_line_naming_the_file(ckpts, tmp_path, kind):
    path = bad_checkpoint(kind, tmp_path, ckpts["mnist"])
    out = tmp_path / "out"
    with pytest.raises(UserError, match=BAD_CHECKPOINTS[kind]) as caught:
        run(path, out=str(out))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert not (tmp_path / "pwned").exists() and not out.exists()
