"""Issue 21 through the real command: a finished run resumed says so, preset runs carry the
experiment in their folder's name, and the banner says how often the metrics really come."""

import json

import pytest

from gan_cli.commands.resume import find_latest
from gan_cli.errors import UserError
from tests.helpers import run_folders, run_gan

TINY = ["data=ring8", "recipe=gan", "trainer.steps=2", "model.g_hidden=[8]", "model.d_hidden=[8]",
        "trainer.progress=false", "trainer.log_every=1", "trainer.sample_every=1",
        "trainer.ckpt_every=1"]  # fmt: skip
WIDE = {"COLUMNS": "240"}  # the banner's lines unwrapped


def test_resuming_a_finished_run_says_so_in_one_line_and_trains_nothing(tmp_path):
    assert run_gan("train", *TINY, "trainer.eval_every=0", cwd=tmp_path).returncode == 0
    (run_dir,) = run_folders(tmp_path)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.suffix in (".pt", ".jsonl")}

    result = run_gan("train", f"resume={run_dir}", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "already finished" in line]
    assert len(lines) == 1, result.stderr
    assert f"{run_dir.resolve()} already finished at step 2 (trainer.steps=2)" in lines[0]
    assert lines[0].endswith(f"to train longer: gan train resume={run_dir.resolve()} trainer.steps=<more>")
    assert "gan train: done" not in result.stdout  # no banner, no summary table: nothing was trained
    after = {p: p.read_bytes() for p in before}
    assert after == before


def test_a_preset_run_folder_names_the_experiment_and_resume_latest_still_finds_it(tmp_path):
    assert run_gan("train", *TINY, "trainer.eval_every=0", cwd=tmp_path).returncode == 0
    assert run_gan("train", *TINY, "trainer.eval_every=0", "experiment=lsgan", cwd=tmp_path).returncode == 0
    names = sorted(folder.name for folder in run_folders(tmp_path))
    assert any(n.endswith("-lsgan-mlp-ring8") for n in names), names
    plain = [n for n in names if "lsgan" not in n]
    assert len(plain) == 1 and plain[0].count("-") == 4, names  # <hh-mm-ss>-mlp-ring8, as before

    newest = find_latest(tmp_path / "outputs", "mlp", "ring8")
    assert newest.name.endswith("-lsgan-mlp-ring8") or newest.name == plain[0]
    with pytest.raises(UserError):  # the experiment is not a model
        find_latest(tmp_path / "outputs", "lsgan", None)


def test_resume_latest_reads_the_model_from_the_end_of_the_name(tmp_path):
    for name in ("10-00-00-dcgan-mlp-ring8", "10-00-01-mlp-ring8-2", "10-00-02-wgan_gp-dcgan-fashion_mnist"):
        (tmp_path / "day" / name / "checkpoints").mkdir(parents=True)
        (tmp_path / "day" / name / "checkpoints" / "last.pt").write_bytes(b"")
    assert find_latest(tmp_path, "mlp", "ring8").name == "10-00-01-mlp-ring8-2"
    assert find_latest(tmp_path, "dcgan", None).name == "10-00-02-wgan_gp-dcgan-fashion_mnist"
    with pytest.raises(UserError):  # experiment=dcgan model=mlp is an mlp run
        find_latest(tmp_path, "dcgan", "ring8")


def test_two_preset_runs_in_one_second_get_two_folders(tmp_path):
    # the name is still made up from ${...}, so the run-folder callback suffixes a taken one
    from gan_cli.outputs import run_folder

    base = tmp_path / "outputs" / "day" / "10-00-00-lsgan-mlp-ring8"
    run_folder.forget()
    try:
        assert run_folder.claim_fresh(base) == base
        assert run_folder.claim_fresh(base).name == "10-00-00-lsgan-mlp-ring8-2"
    finally:
        run_folder.forget()


def test_the_2d_banner_says_the_modes_come_with_every_log_line(tmp_path):
    result = run_gan("train", *TINY, "trainer.eval_every=2", cwd=tmp_path, env=WIDE)
    assert result.returncode == 0, result.stderr
    promise = "modes every 1 steps (each log line, 2,500 samples); every 2 steps: modes on 2,000 samples"
    assert promise in result.stdout
    (run_dir,) = run_folders(tmp_path)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "modes_captured" in r] == [1, 2]  # the banner's promise


def test_the_banner_says_where_auto_channels_came_from(tmp_path):
    from PIL import Image

    images = tmp_path / "gray"
    images.mkdir()
    for i in range(8):
        Image.new("L", (16, 16), color=i * 30).save(images / f"{i}.png")
    result = run_gan("train", "data=folder", f"data.path={images}", "data.image_size=16", "trainer.steps=1",
                     "trainer.progress=false", "model.g_hidden=[8]", "model.d_hidden=[8]",
                     cwd=tmp_path, env=WIDE)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "folder  8 x (1, 16, 16) (channels: auto -> 1)" in result.stdout


def test_gan_sample_draws_other_latents_than_the_training_grid(tmp_path):
    import numpy as np
    import torch

    from gan_cli import sampling
    from gan_cli.outputs import checkpoint

    assert run_gan("train", *TINY, "trainer.eval_every=0", cwd=tmp_path).returncode == 0
    (run_dir,) = run_folders(tmp_path)
    fixed = checkpoint.load(run_dir / "checkpoints" / "last.pt")["fixed_noise"]
    drawn = sampling.latents(sampling.sample_seed(0), fixed.shape[0], fixed.shape[1])
    assert not torch.equal(drawn, fixed)
    assert torch.equal(torch.randn(*fixed.shape, generator=torch.Generator().manual_seed(0)), fixed)
    for name, batch in (("a", 1), ("b", 64)):  # the same files whatever the batch size
        out = f"out={tmp_path / name}.npy"
        args = ["format=npy", "n=4", f"batch_size={batch}", out]
        result = run_gan("sample", f"ckpt={run_dir}", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
