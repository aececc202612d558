"""End-to-end: the real `gan train` command writes a complete run folder."""

import json

import pytest

from gan_cli.outputs import checkpoint
from tests.data.fakes import write_idx_set
from tests.helpers import run_folders, run_gan

pytestmark = pytest.mark.slow

SHORT = ["trainer.log_every=10", "trainer.sample_every=20", "trainer.ckpt_every=20"]


def assert_complete_run_folder(run_dir, steps: int):
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (
        run_dir / ".hydra" / "overrides.yaml"
    ).is_file()
    assert (run_dir / "train.log").read_text().count("step ") >= 1
    grids = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert grids[0] == "step_0000000.png" and grids[-1] == f"step_{steps:07d}.png"
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(10, steps + 1, 10))
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "img_per_s", "epoch", "lr_g", "lr_d"):
        assert key in records[-1]
    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert last["step"] == steps and last["config"]["trainer"]["steps"] == steps
    assert (run_dir / "checkpoints" / f"step_{steps:07d}.pt").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == steps
    return records


def test_train_on_ring8(tmp_path):
    result = run_gan("train", "data=ring8", "trainer.steps=40", *SHORT, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    assert run_dir.name.endswith("-mlp-ring8")
    records = assert_complete_run_folder(run_dir, 40)
    assert {"modes_captured", "high_quality_pct", "kl_uniform"} <= set(records[-1])
    assert "gan train: done" in result.stdout and str(run_dir) in result.stdout.replace("\n", "")


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_train_on_an_mnist_idx_folder_read_by_torchvision(tmp_path, model):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=100)
    result = run_gan(
        "train",
        f"model={model}",
        "data=mnist",
        "data.download=false",
        "trainer.steps=20",
        "trainer.batch_size=16",
        *SHORT,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    assert run_dir.name.endswith(f"-{model}-mnist")
    assert_complete_run_folder(run_dir, 20)


def test_python_dash_m_and_epochs(tmp_path):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=100)
    # 2 epochs of 100 images at batch 10 = 20 generator steps
    result = run_gan(
        "train", "data.download=false", "trainer.epochs=2", "trainer.batch_size=10", *SHORT, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 20
