"""End to end (slow): the real `gan` command trains model=vae on an MNIST-format folder, samples
it, reconstructs test images and scores it (nll, elbo and FID, ...); a sweep puts a VAE and a GAN
in one table."""

import csv
import io
import json

import pytest

from gan_cli.commands import config
from tests.helpers import run_folders, run_gan
from tests.metrics.labeled_images import write_banded_idx_set

pytestmark = pytest.mark.slow

DATA = ["data=mnist", "data.download=false"]
SHORT = [
    "trainer.batch_size=16",
    "trainer.log_every=10",
    "trainer.sample_every=20",
    "trainer.ckpt_every=20",
    "trainer.eval_n=50",
    "trainer.progress=false",
]


@pytest.fixture
def banded(tmp_path):
    write_banded_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=300, test_count=100)
    return tmp_path


def test_train_sample_reconstruct_and_eval_a_vae(banded):
    small = ["model=vae", "model.z_dim=8", "model.hidden=[64]"]
    result = run_gan("train", *small, *DATA, "trainer.steps=20", *SHORT, cwd=banded)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(banded)
    assert run_dir.name.endswith("-vae-mnist")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"loss", "recon", "kl", "elbo", "nll", "eval_elbo", "fid"} <= set(records[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["primary_metric"] == "nll" and (run_dir / "checkpoints" / "best.pt").is_file()
    samples = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert "recon_step_0000020.png" in samples and "step_0000020.png" in samples

    sampled = run_gan("sample", f"ckpt={run_dir}", "n=16", "out=prior.png", cwd=banded)
    assert sampled.returncode == 0, sampled.stderr
    assert (banded / "prior.png").is_file()

    if "reconstruct" in {f.name for f in config.dataclasses.fields(config.SampleConfig)}:
        rebuilt = run_gan("sample", f"ckpt={run_dir}", "reconstruct=true", "n=32", "out=rec.png", cwd=banded)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert (banded / "rec.png").is_file()

    scored = run_gan("eval", f"ckpt={run_dir}", "n=50", cwd=banded)
    assert scored.returncode == 0, scored.stderr
    saved = json.loads((run_dir / "checkpoints" / "eval.json").read_text())
    assert {"nll", "elbo", "fid", "kid"} <= set(saved["metrics"])
    assert saved["metrics"]["nll"] > 0 and saved["nll_k"] == 100


def test_one_sweep_table_holds_a_vae_and_a_gan(banded):
    result = run_gan(
        "train", "-m", "model=vae,mlp", *DATA, "trainer.steps=10", *SHORT, "trainer.eval_primary=fid",
        cwd=banded,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (banded / "outputs" / "multirun").glob("*/*")
    rows = list(csv.DictReader(io.StringIO((folder / "summary.csv").read_text())))
    assert sorted(r["model"] for r in rows) == ["mlp", "vae"] and {r["status"] for r in rows} == {"ok"}
    assert all(r["fid"] for r in rows)
