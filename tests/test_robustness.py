"""Random command lines never give a traceback or hang; long runs keep disk and memory bounded."""

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_cli.commands import dispatch
from gan_cli.commands.train import build, run
from gan_cli.outputs import checkpoint
from tests.helpers import compose_train

# trainer.pack=1: ring8's data defaults pack 2, which trainer.batch_size=1 below could not fill
TINY = ["data=ring8", "trainer.pack=1", "trainer.steps=1", "model.g_hidden=[8]", "model.d_hidden=[8]",
        "trainer.progress=false", "trainer.log_every=1", "trainer.sample_every=1",
        "trainer.ckpt_every=1"]  # fmt: skip

# key -> (valid values, invalid values)
TRAIN_CHOICES = {
    "trainer.batch_size": (["1", "4"], ["0", "-3", "x"]),
    "trainer.d_steps": (["1", "2"], ["0"]),
    "optim.lr": (["1e-3"], ["0", "-1", "fast"]),
    "optim": (["adam", "sgd", "rmsprop", "adamw"], ["lbfgs"]),
    "model.z_dim": (["2", "16"], ["0", "1.5"]),
    "loss": (["ns", "hinge", "lsgan", "relativistic"], ["focal"]),
    "loss.gp_lambda": (["0", "1"], ["-1"]),
    "loss.clip": (["0"], ["0.01", "-2"]),
    "trainer.ema.decay": (["0", "0.9"], ["1.5", "-0.1"]),
    "device": (["cpu", "auto"], ["tpu", "cuda:3"]),
    "seed": (["0", "7"], ["abc"]),
    "trainer.on_nan": (["stop", "skip"], ["ignore"]),
    "trainer.precision": (["32", "bf16"], ["fp8"]),
    "model": (["mlp"], ["dcgan", "resnet"]),
    "trainer.stepz": ([], ["3"]),
}


@st.composite
def overrides(draw, choices):
    keys = draw(st.lists(st.sampled_from(sorted(choices)), unique=True, max_size=4))
    chosen = []
    for key in keys:
        valid, invalid = choices[key]
        pool = valid + invalid if valid else invalid
        chosen.append(f"{key}={draw(st.sampled_from(pool))}")
    return chosen


def run_command(argv, capsys) -> tuple[int, str]:
    try:
        dispatch.main(["gan", *argv])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.err


def assert_ran_or_one_line(code: int, err: str, argv) -> None:
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("gan: error: "), (argv, err)


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(extra=overrides(TRAIN_CHOICES))
def test_gan_train_runs_or_refuses_in_one_line(extra, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    argv = ["train", *TINY, *extra]
    code, err = run_command(argv, capsys)
    assert_ran_or_one_line(code, err, argv)


@pytest.fixture(scope="module")
def ring8_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    run(compose_train(*[o for o in TINY if o != "trainer.steps=1"], "trainer.steps=3"), folder)
    return folder / "checkpoints" / "last.pt"


SAMPLE_CHOICES = {
    "n": (["1", "5"], ["0", "-2", "many"]),
    "format": (["grid", "npy"], ["jpg"]),
    "seed": (["0", "3"], ["x"]),
    "batch_size": (["2", "256"], ["0"]),
    "interpolate": (["false"], ["true"]),  # 2D checkpoints cannot interpolate
    "steps": (["2", "4"], ["1"]),
    "device": (["cpu"], ["cuda:5"]),
    "nrow": (["2"], ["0"]),
}


@FUZZ
@given(extra=overrides(SAMPLE_CHOICES), good_ckpt=st.booleans())
def test_gan_sample_runs_or_refuses_in_one_line(
    extra, good_ckpt, ring8_checkpoint, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    ckpt = ring8_checkpoint if good_ckpt else tmp_path / "missing.pt"
    argv = ["sample", f"ckpt={ckpt}", f"out={tmp_path / 'out'}", *extra]
    code, err = run_command(argv, capsys)
    assert_ran_or_one_line(code, err, argv)


def rss_kib() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_soak_disk_and_memory_stay_bounded_and_the_last_checkpoint_resumes(tmp_path):
    steps = int(os.environ.get("GAN_SOAK_STEPS", "3000"))
    overrides = ["data=ring8", "model.g_hidden=[64,64]", "model.d_hidden=[64]", "trainer.progress=false",
                 "trainer.log_every=100", "trainer.sample_every=500", "trainer.ckpt_every=100",
                 "trainer.keep_checkpoints=3", f"trainer.steps={steps}"]  # fmt: skip
    trainer = build(compose_train(*overrides), tmp_path).trainer
    samples = []
    while trainer.step < trainer.total_steps:
        trainer.train_step()
        if trainer.step % 100 == 0:
            trainer.log_interval()
            trainer.save_checkpoint(periodic=True)
            if trainer.step % 500 == 0:
                trainer.write_samples()
            checkpoints = list((tmp_path / "checkpoints").iterdir())
            assert len(checkpoints) <= 3 + 1, [p.name for p in checkpoints]  # periodic ones + last.pt
            samples.append(rss_kib())
    trainer.reporter.close()
    settled = samples[len(samples) // 3]  # after warm-up: allocator pools and caches filled
    assert samples[-1] <= settled * 1.05, f"RSS grew from {settled} KiB to {samples[-1]} KiB"
    resumed = compose_train(*overrides[:-1], f"trainer.steps={steps + 10}",
                            f"resume={tmp_path / 'checkpoints' / 'last.pt'}")  # fmt: skip
    run(resumed, tmp_path)
    assert checkpoint.load(tmp_path / "checkpoints" / "last.pt")["step"] == steps + 10
