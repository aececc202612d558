"""Slow: fine-tuning through the real `gan` command. A source DCGAN on classes 0-4 of an
MNIST-format set, then `init_from=` its run folder on 100 images of class 7 with FreezeD and
DiffAugment; the refusals answer in one line with exit code 2."""

from __future__ import annotations

import pytest
import torch

from gan_cli.outputs import checkpoint
from tests.data.fakes import write_idx_set
from tests.helpers import run_folders, run_gan

SHORT = [
    "data=mnist",
    "data.download=false",
    "trainer.batch_size=16",
    "trainer.log_every=3",
    "trainer.sample_every=3",
    "trainer.ckpt_every=3",
    "trainer.eval_every=0",
    "trainer.progress=false",
    "logger=[jsonl]",
]


@pytest.mark.slow
def test_source_then_init_from_on_100_images_of_another_class(tmp_path):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=1000, test_count=20)
    source = run_gan(
        "train", "model=dcgan", "model.width=8", "model.z_dim=16", "data.classes=[0,1,2,3,4]",
        "trainer.steps=3", *SHORT, cwd=tmp_path,
    )  # fmt: skip
    assert source.returncode == 0, source.stderr
    (source_dir,) = run_folders(tmp_path)

    tuned = run_gan(
        "train", f"init_from={source_dir}", "data.classes=[7]", "data.limit=100", "finetune.freeze_d=1",
        "augment=diffaugment", "trainer.steps=3", *SHORT, cwd=tmp_path,
    )  # fmt: skip
    assert tuned.returncode == 0, tuned.stderr
    tuned_dir = next(p for p in run_folders(tmp_path) if p != source_dir)
    assert tuned_dir.name.endswith("-dcgan-mnist")  # named after the checkpoint's model
    assert "mnist  100 x (1, 28, 28)" in tuned.stdout and "classes 7->0" in tuned.stdout  # the banner
    before = checkpoint.load(source_dir / "checkpoints" / "last.pt")
    after = checkpoint.load(tuned_dir / "checkpoints" / "last.pt")
    assert after["step"] == 3 and after["config"]["model"]["z_dim"] == 16
    d_before, d_after = before["networks"]["discriminator"], after["networks"]["discriminator"]
    assert torch.equal(d_before["net.0.weight"], d_after["net.0.weight"])  # frozen (FreezeD)
    assert not torch.equal(d_before["net.2.weight"], d_after["net.2.weight"])  # trained
    assert (tuned_dir / "samples").is_dir()

    refused = run_gan("train", f"init_from={source_dir}", "model.z_dim=32", *SHORT, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("gan: error: init_from: model.z_dim=32")
    both = run_gan("train", f"init_from={source_dir}", f"resume={source_dir}", cwd=tmp_path)
    assert both.returncode == 2 and "cannot be combined" in both.stderr
