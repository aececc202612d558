"""`gan sample reconstruct=true` (gan_cli.sampling.reconstruct) on a briefly trained VAE and AE: a
grid of fixed test images over their reconstructions, the same file for the same checkpoint; a GAN
checkpoint is refused in one line."""

import pytest
from omegaconf import OmegaConf
from PIL import Image

from gan_cli import sampling
from gan_cli.commands.config import sample_schema
from gan_cli.commands.train import run as train
from gan_cli.errors import UserError
from tests.data.fakes import write_idx_set
from tests.helpers import compose_train

TINY = [
    "data=mnist", "data.download=false", "model.z_dim=4", "model.hidden=[16]", "trainer.batch_size=8",
    "trainer.eval_every=0", "trainer.progress=false", "trainer.steps=4", "trainer.log_every=2",
    "recipe.recon_images=2",
    "logger=[]",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("recon")
    write_idx_set(root / "data" / "MNIST" / "raw", train_count=32, test_count=12)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_DATA_DIR", str(root / "data"))
        for model in ("vae", "ae"):
            train(compose_train(*TINY, f"model={model}"), root / model)
        yield root


def reconstruct_cfg(ckpt, **keys):
    plain = OmegaConf.to_container(sample_schema(ckpt=str(ckpt)))
    return OmegaConf.create({**plain, "device": "cpu", "reconstruct": True, **keys})


@pytest.mark.parametrize("model", ["vae", "ae"])
def test_test_images_over_their_reconstructions(runs, model, tmp_path):
    first = sampling.run(reconstruct_cfg(runs / model, n=10, out=str(tmp_path / "a.png")))
    sampling.run(reconstruct_cfg(runs / model, n=10, out=str(tmp_path / "b.png")))
    assert (
        first == [tmp_path / "a.png"]
        and (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    )
    with Image.open(first[0]) as image:  # 8 columns; 2 runs of images, each over its reconstructions
        assert image.size == (2 + 8 * 30, 2 + 4 * 30)
    (into,) = sampling.run(reconstruct_cfg(runs / model, n=4, nrow=2), run_dir=tmp_path / "run")
    assert into == tmp_path / "run" / "reconstructions.png" and into.is_file()


def test_a_checkpoint_without_an_encoder_is_refused(runs, tmp_path):
    from tests.sampling.helpers import SMALL_MLP, train_config, write_checkpoint

    gan = write_checkpoint(tmp_path / "gan.pt", train_config("data=mnist", *SMALL_MLP), (1, 28, 28))
    with pytest.raises(UserError, match="reconstruct=true needs an autoencoder checkpoint") as caught:
        sampling.run(reconstruct_cfg(gan, out=str(tmp_path / "x.png")))
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="writes one grid"):
        sampling.run(reconstruct_cfg(runs / "vae", format="npy", out=str(tmp_path / "x.npy")))


def test_a_folder_of_images_given_as_input_is_reconstructed_at_the_models_size(runs, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):  # RGB and larger than the model's 28x28 grayscale: resized, cropped, gray
        Image.new("RGB", (40, 36), (40 * i, 200, 90)).save(photos / f"{i}.png")
    (path,) = sampling.run(reconstruct_cfg(runs / "vae", n=8, input=str(photos), out=str(tmp_path / "r.png")))
    with Image.open(path) as image:  # the folder's 3 images, each over its reconstruction
        assert image.size == (2 + 3 * 30, 2 + 2 * 30)
