"""End-to-end: `gan train experiment=infogan` through the real command on an MNIST-format folder,
then `gan sample` of its checkpoint and the vary=cat0 / vary=cont0 grids of its generator."""

import json

import pytest
import torch

from gan_cli.models import contract, infogan
from gan_cli.outputs import checkpoint
from gan_cli.sampling import loading, vary
from tests.data.fakes import write_idx_set
from tests.helpers import run_folders, run_gan

pytestmark = pytest.mark.slow


def test_an_infogan_run_trains_checkpoints_q_and_samples(tmp_path):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=64)
    result = run_gan(
        "train",
        "experiment=infogan",
        "data=mnist",
        "data.download=false",
        "model.width=8",
        "trainer.steps=10",
        "trainer.batch_size=16",
        "trainer.log_every=5",
        "trainer.sample_every=10",
        "trainer.ckpt_every=10",
        "trainer.eval_every=0",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    assert run_dir.name.endswith("-infogan-dcgan-mnist")
    assert "InfoGAN (noise 62, cat0 10, 2 continuous" in result.stdout.replace("\n", " ")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10]
    assert {"d_loss", "g_loss", "info_cat", "info_cont", "lr_g", "lr_d"} <= set(records[-1])
    assert records[-1]["lr_g"] == 1e-3 and records[-1]["lr_d"] == 2e-4
    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert last["recipe"] == "infogan" and "q" in last["networks"]
    assert (run_dir / "samples" / "step_0000010.png").is_file()

    sampled = run_gan("sample", f"ckpt={run_dir}", "n=16", f"out={tmp_path / 'grid.png'}", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert (tmp_path / "grid.png").is_file()

    loaded = loading.load_generator(loading.resolve_checkpoint(run_dir))
    G = infogan.attach_from_config(loaded.generator, last["config"])  # the sampling hook's call
    assert contract.latent_codes(G) == infogan.layout(74, [10], 2)
    for spec, shape in (("cat0", (10, 6)), ("cont0", (8, 8))):
        grid = vary.grid(G, spec, n=64, steps=8)
        assert (grid.rows, grid.columns) == shape
        with torch.no_grad():
            assert G(grid.latents).shape == (grid.rows * grid.columns, 1, 28, 28)
