"""`gan sample` as a command: its config checks, its help, and the real commands (slow)."""

import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from gan_cli import sampling
from gan_cli.commands.config import SampleConfig, validate_sample
from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint
from tests.data.fakes import write_idx_set
from tests.helpers import run_folders, run_gan
from tests.sampling.helpers import SMALL_MLP, bad_checkpoint, png_size, sample_cfg


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"n": 0}, "n=0 is out of range: an integer >= 1"),
        ({"batch_size": 0}, "batch_size=0 is out of range"),
        ({"steps": 1}, "steps=1 is out of range: an integer >= 2"),
        ({"nrow": 0}, "nrow=0 is out of range"),
        ({"format": "jpg"}, "format='jpg' is out of range: grid, png, npy"),
        ({"device": "tpu"}, "device='tpu' is out of range"),
        ({"gif": True}, "gif=true animates an interpolation"),
        ({"interpolate": True, "format": "npy"}, "format=npy does not apply with interpolate=true"),
        ({"interpolate": True, "nrow": 4}, "nrow=4 does not apply"),
        ({"out": " "}, "out=' ' is out of range"),
    ],
)
def test_bad_values_name_the_key_value_and_range(overrides, expected):
    with pytest.raises(UserError) as caught:
        sample_cfg("some.pt", **overrides)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_ckpt_is_required():
    with pytest.raises(UserError, match="ckpt is required"):
        validate_sample(OmegaConf.structured(SampleConfig))


def test_sample_help_lists_the_options(tmp_path):
    result = run_gan("sample", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line in ("ckpt: ???", "format: grid", "interpolate: false", "use_ema: true", "gan sample ckpt="):
        assert line in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_the_command_module_does_not_import_torch():
    code = "import sys, gan_cli.commands.sample; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


# ---- the real commands ------------------------------------------------------------------------------
SHORT = ["trainer.steps=20", "trainer.log_every=10", "trainer.sample_every=20", "trainer.ckpt_every=20"]


@pytest.mark.slow
def test_gan_sample_writes_into_its_own_run_folder(ckpts, tmp_path):
    run_dir = tmp_path / "outputs" / "2026-11-28" / "10-00-00-mlp-ring8"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(ckpts["ring8"].read_bytes())
    result = run_gan("sample", f"ckpt={run_dir}", "n=500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (sample_dir,) = [p for p in run_folders(tmp_path) if p.name.endswith("-sample")]
    assert (sample_dir / ".hydra" / "config.yaml").is_file()
    relative = sample_dir.relative_to(tmp_path)
    assert result.stdout.splitlines() == [f"wrote {relative}/samples.png", f"wrote {relative}/samples.npy"]
    assert np.load(sample_dir / "samples.npy").shape == (500, 2)
    assert png_size(sample_dir / "samples.png") == (512, 512)
    assert "last.pt" in (sample_dir / "sample.log").read_text()


@pytest.mark.slow
def test_gan_sample_on_a_trained_mnist_checkpoint(tmp_path):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=100)
    train = ("data.download=false", "trainer.batch_size=16", "trainer.ema.decay=0.9", *SMALL_MLP, *SHORT)
    result = run_gan("train", *train, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    ckpt = run_dir / "checkpoints" / "last.pt"

    result = run_gan("sample", f"ckpt={ckpt}", "n=16", "seed=3", "out=grid.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["wrote grid.png"]
    assert png_size(tmp_path / "grid.png") == (4 * 30 + 2, 4 * 30 + 2)
    assert run_folders(tmp_path) == [run_dir]  # out= leaves no sample run folder behind
    sampling.run(sample_cfg(ckpt, n=16, seed=3, out=str(tmp_path / "again.png")))
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "grid.png").read_bytes()

    # the run kept an EMA generator: it is the default, use_ema=false picks the raw one
    assert "ema_generator" in checkpoint.load(ckpt)
    sampling.run(sample_cfg(ckpt, n=16, seed=3, use_ema=False, out=str(tmp_path / "raw.png")))
    assert (tmp_path / "raw.png").read_bytes() != (tmp_path / "grid.png").read_bytes()

    walks = sampling.run(
        sample_cfg(run_dir, interpolate=True, n=3, steps=4, gif=True, out=str(tmp_path / "w"))
    )
    assert walks == [tmp_path / "w" / "interpolation.png", tmp_path / "w" / "interpolation.gif"]
    assert png_size(walks[0]) == (4 * 30 + 2, 3 * 30 + 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind,args,expected",
    [
        ("missing", (), "nowhere/last.pt does not exist"),
        ("empty folder", (), "no checkpoints/best.pt"),
        ("pickled code", (), "not a loadable gan_cli checkpoint"),
        ("truncated", (), "not a loadable gan_cli checkpoint"),
        ("good", ("n=0",), "n=0 is out of range"),
        ("good", ("steps=1", "interpolate=true"), "steps=1 is out of range"),
    ],
)
def test_gan_sample_bad_input_is_one_line_exit_2(ckpts, tmp_path, kind, args, expected):
    path = ckpts["mnist"] if kind == "good" else bad_checkpoint(kind, tmp_path, ckpts["mnist"])
    result = run_gan("sample", f"ckpt={path}", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "pwned").exists()
    assert run_folders(tmp_path) == []  # a refused run leaves no folder behind


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind,args,expected",
    [
        (
            "mnist_concat",
            ("class=12",),
            "class=12 is out of range: this checkpoint's generator has classes 0-9",
        ),
        ("mnist_concat", ("classes=[1,10]",), "classes=[1,10] is out of range: this checkpoint's generator"),
        ("mnist", ("class=3",), "holds an unconditional generator (it takes no class labels)"),
        ("mnist", ("classes=[0,1]",), "holds an unconditional generator"),
        (
            "mnist_concat",
            ("class=abc",),
            "class: Value 'abc' of type 'str' could not be converted to Integer",
        ),
        ("mnist_concat", ("class=-1",), "class=-1 is out of range: an integer >= 0"),
        ("mnist_concat", ("class=1", "classes=[2]"), "class=1 and classes=[2] both name classes"),
    ],
)
def test_gan_sample_class_errors_are_one_line_exit_2(ckpts, tmp_path, kind, args, expected):
    result = run_gan("sample", f"ckpt={ckpts[kind]}", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert expected in result.stderr
    assert run_folders(tmp_path) == []


@pytest.mark.slow
def test_gan_sample_by_class_on_a_conditional_checkpoint(ckpts, tmp_path):
    result = run_gan(
        "sample", f"ckpt={ckpts['mnist_concat']}", "class=7", "n=6", "format=npy", "out=s.npy", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["wrote s.npy", "wrote s.labels.npy"]
    assert np.load(tmp_path / "s.npy").shape == (6, 1, 28, 28)
    assert np.load(tmp_path / "s.labels.npy").tolist() == [7] * 6
    result = run_gan("sample", f"ckpt={ckpts['mnist_concat']}", "n=20", "out=rows.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert png_size(tmp_path / "rows.png") == (2 * 30 + 2, 10 * 30 + 2)  # 10 rows of 20 // 10


@pytest.mark.slow
def test_gan_sample_by_class_after_a_short_conditional_run(tmp_path):
    """#12 end to end: gan train with model.cond on an MNIST-format folder, then gan sample for two
    classes and the default class-row grid, from nothing but the run folder."""
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=100)
    # no evaluation: 5 test images cannot give intra_fid its 2 images per class
    train = ("data.download=false", "trainer.batch_size=16", "model.cond=concat", *SMALL_MLP, *SHORT)
    train = (*train, "trainer.eval_every=0")
    result = run_gan("train", *train, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    for k in (3, 8):
        result = run_gan(
            "sample", f"ckpt={run_dir}", f"class={k}", "n=6", "format=npy", f"out=c{k}.npy", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert np.load(tmp_path / f"c{k}.npy").shape == (6, 1, 28, 28)
        assert np.load(tmp_path / f"c{k}.labels.npy").tolist() == [k] * 6
    assert not np.array_equal(np.load(tmp_path / "c3.npy"), np.load(tmp_path / "c8.npy"))
    result = run_gan("sample", f"ckpt={run_dir}", "n=30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (sample_dir,) = [p for p in run_folders(tmp_path) if p.name.endswith("-sample")]
    assert png_size(sample_dir / "samples.png") == (3 * 30 + 2, 10 * 30 + 2)  # a row per class
