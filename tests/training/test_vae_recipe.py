"""recipe=vae (gan_cli.training.recipes.vae_step) through the real trainer, in-process, on a tiny
MNIST-format set: statistics, beta and the KL warm-up, the AE's reconstructions, the recon view,
checkpoints that resume exactly, likelihood metrics during training and best.pt by nll."""

import json

import pytest
import torch

from gan_cli import evaluation
from gan_cli.commands.train import build, run
from gan_cli.errors import UserError
from gan_cli.metrics import classifier
from gan_cli.models.autoencoder import reconstruct
from gan_cli.outputs import checkpoint
from gan_cli.training.recipes.vae_step import kl_weight
from tests.data.fakes import write_idx_set
from tests.helpers import SilentReporter, compose_train
from tests.metrics.labeled_images import write_banded_idx_set

TINY = [
    "data=mnist",
    "data.download=false",
    "model.z_dim=4",
    "model.hidden=[32]",
    "trainer.batch_size=8",
    "trainer.eval_every=0",
    "trainer.progress=false",
    "trainer.log_every=5",
    "trainer.sample_every=10",
    "trainer.ckpt_every=10",
    "recipe.recon_images=4",
    "logger=[jsonl]",  # no TensorBoard to import
]


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=64)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def one_step(root, *overrides):
    torch.manual_seed(0)
    cfg = compose_train(*TINY, *overrides)
    trainer = build(cfg, root / "run", reporter=SilentReporter()).trainer
    trainer.train_step()
    return trainer, trainer.stats.means()


def test_model_vae_and_ae_pick_the_vae_recipe_and_recipe_wins():
    assert compose_train("model=vae").recipe.name == "vae"
    assert compose_train("model=ae").recipe.name == "vae"
    assert compose_train("model=vae", "recipe=gan").recipe.name == "gan"
    assert compose_train("model=mlp").recipe.name == "gan"


def test_a_vae_step_logs_elbo_recon_and_kl_and_beta_scales_the_kl_term(mnist_root):
    _, plain = one_step(mnist_root, "model=vae")
    _, heavy = one_step(mnist_root, "model=vae", "model.beta=4")
    assert set(plain) == {"loss", "recon", "kl", "elbo"}
    assert plain["kl"] == pytest.approx(heavy["kl"]) and plain["recon"] == pytest.approx(heavy["recon"])
    assert plain["elbo"] == pytest.approx(-(plain["recon"] + plain["kl"]), rel=1e-5)
    assert plain["loss"] == pytest.approx(plain["recon"] + plain["kl"], rel=1e-5)
    assert heavy["loss"] == pytest.approx(heavy["recon"] + 4 * heavy["kl"], rel=1e-5)
    _, warm = one_step(mnist_root, "model=vae", "model.beta=2", "model.kl_warmup_steps=8")
    assert warm["loss"] == pytest.approx(warm["recon"] + 2 * warm["kl"] / 8, rel=1e-5)


def test_kl_warm_up_grows_linearly_to_beta():
    assert [kl_weight(2.0, 4, t) for t in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert kl_weight(3.0, 0, 0) == 3.0


def test_the_vae_recipe_refuses_a_gan_family(mnist_root):
    with pytest.raises(UserError, match="recipe=vae trains an encoder and a decoder"):
        build(compose_train(*TINY[:2], "model=mlp", "recipe=vae", "trainer.eval_every=0"), mnist_root / "x")


def test_a_tiny_ae_reconstructs_its_two_training_images_near_exactly(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=2, test_count=2)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    cfg = compose_train(
        *TINY, "model=ae", "model.hidden=[64]", "trainer.batch_size=2", "optim.lr=2e-3", "trainer.steps=400"
    )
    trainer = build(cfg, tmp_path / "run", reporter=SilentReporter()).trainer
    for _ in range(400):
        trainer.train_step()
    images = trainer.batches.real_sample(2).cpu()
    decoder, encoder = trainer.recipe.networks["generator"], trainer.recipe.networks["encoder"]
    error = (reconstruct(decoder.eval(), encoder.eval(), images) - images).abs().mean()
    assert float(error) < 0.05, float(error)
    # its samples decode the Gaussian fitted to the codes of those images
    assert float(decoder.codes_seen) == 800


@pytest.mark.parametrize("model", ["vae", "ae"])
def test_stop_and_resume_is_exact_and_writes_the_recon_view(mnist_root, model):
    unbroken, broken = mnist_root / "unbroken", mnist_root / "broken"
    run(compose_train(*TINY, f"model={model}", "trainer.steps=20"), unbroken)
    run(compose_train(*TINY, f"model={model}", "trainer.steps=10"), broken)
    run(
        compose_train(*TINY, f"model={model}", "trainer.steps=20", f"resume={broken}/checkpoints/last.pt"),
        broken,
    )
    a, b = (checkpoint.load(d / "checkpoints" / "last.pt") for d in (unbroken, broken))
    assert a["recipe"] == "vae" and set(a["networks"]) == {"encoder"} and a["recipe_state"] == {"updates": 20}
    for name, weights in (("generator", a["generator"]), ("encoder", a["networks"]["encoder"])):
        other = b["generator"] if name == "generator" else b["networks"]["encoder"]
        for key, value in weights.items():
            assert torch.equal(value, other[key]), f"{name}.{key}"
    assert torch.equal(
        a["optimizers"]["model"]["state"][0]["exp_avg"], b["optimizers"]["model"]["state"][0]["exp_avg"]
    )
    logs = [
        [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
        for d in (unbroken, broken)
    ]
    keys = ("loss", "recon", *(("kl", "elbo") if model == "vae" else ()))
    assert [[r[k] for k in keys] for r in logs[0]] == [[r[k] for k in keys] for r in logs[1]]
    recon = sorted(p.name for p in (unbroken / "samples").glob("recon_step_*.png"))
    assert recon == ["recon_step_0000000.png", "recon_step_0000010.png", "recon_step_0000020.png"]


@pytest.fixture
def banded_root(tmp_path, monkeypatch):
    write_banded_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=300, test_count=100)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(classifier, "BATCH_SIZE", 32)
    monkeypatch.setattr(classifier, "EPOCHS", 3)
    evaluation._EVALUATORS.clear()
    return tmp_path


def test_a_vae_scores_nll_and_elbo_during_training_and_best_pt_follows_nll(banded_root):
    cfg = compose_train(
        *TINY, "model=vae", "trainer.steps=10", "trainer.eval_every=10", "trainer.eval_n=50",
        "trainer.eval_metrics=null",
    )  # fmt: skip
    summary = run(cfg, banded_root / "run")
    assert summary["primary_metric"] == "nll" and summary["primary_direction"] == "min"
    assert summary["best_nll"] == summary["nll"] > 0
    assert summary["eval_elbo"] <= -summary["nll"] + 1e-3  # -L_k >= -ELBO on average, k=100
    assert "elbo" in summary and "fid" in summary  # the training statistic beside the test one
    assert (banded_root / "run" / "checkpoints" / "best.pt").is_file()
