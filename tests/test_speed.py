"""Device switches run, and the training step never waits on the host between log intervals."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_cli.commands.train import build, compose
from tests.data.fakes import write_idx_set
from tests.helpers import SilentReporter

ROOT = Path(__file__).parents[1]
FEW = ["trainer.progress=false", "trainer.log_every=2", "trainer.sample_every=100", "trainer.ckpt_every=100"]


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=64)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def trained(tmp_path, *overrides, steps=4):
    cfg = compose([*FEW, "data.download=false", "trainer.batch_size=8", *overrides])
    reporter = SilentReporter()
    trainer = build(cfg, tmp_path / "run", reporter=reporter).trainer
    for _ in range(steps):
        trainer.train_step()
    trainer.log_interval()
    return trainer, reporter.last


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
@pytest.mark.parametrize("precision", ["32", "bf16", "16-mixed"])
@pytest.mark.parametrize("channels_last", ["true", "false"])
def test_every_cpu_switch_combination_trains_with_finite_losses(mnist_root, model, precision, channels_last):
    size = "model.width=8" if model == "dcgan" else "model.g_hidden=[16,16]"
    switches = [f"trainer.precision={precision}", f"trainer.channels_last={channels_last}"]
    trainer, record = trained(mnist_root, f"model={model}", size, *switches)
    assert trainer.switches.precision == precision
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("d_loss", "g_loss", "d_real", "d_fake"))


def test_auto_switches_are_off_on_cpu(mnist_root):
    trainer, _ = trained(mnist_root, "model=dcgan", "model.width=8")
    assert (trainer.switches.precision, trainer.switches.compile, trainer.switches.channels_last) == (
        "32",
        "false",
        False,
    )


def test_d_forward_is_fused_only_without_batch_statistics(mnist_root):
    assert trained(mnist_root, "model=mlp", "model.g_hidden=[16]")[0].recipe.fuse_d
    assert not trained(mnist_root, "model=dcgan", "model.width=8")[0].recipe.fuse_d
    assert trained(mnist_root, "model=dcgan", "model.width=8", "model.d_batchnorm=false")[0].recipe.fuse_d


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["true", "reduce-overhead"])
def test_compile_runs_on_cpu(mnist_root, mode):
    trainer, record = trained(mnist_root, "model=mlp", "model.g_hidden=[16]", f"trainer.compile={mode}")
    assert trainer.switches.compile == mode and torch.isfinite(torch.tensor(record["d_loss"]))


SYNCS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__")
PACKAGE = str(ROOT / "gan_cli")


def count_syncs_from_the_package(monkeypatch, calls: list) -> None:
    """Record reads of tensor values made by gan_cli's own code. (torch's CPU optimizers read
    their CPU step counters with .item(); those stay on the host on CUDA too.)"""
    for name in SYNCS:
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            if sys._getframe(1).f_code.co_filename.startswith(PACKAGE):
                calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)


def test_no_host_sync_between_log_intervals(mnist_root, monkeypatch):
    for overrides in (
        ["model=mlp"],
        ["model=dcgan", "model.width=8"],
        ["data=ring8", "trainer.ema.decay=0.9"],
    ):
        cfg = compose([*FEW, "data.download=false", "trainer.batch_size=8", "trainer.d_steps=2",
                       "optim.schedule=linear", *overrides])  # fmt: skip
        trainer = build(cfg, mnist_root / "run", reporter=SilentReporter()).trainer
        calls = []
        with monkeypatch.context() as patch:
            count_syncs_from_the_package(patch, calls)
            for _ in range(5):
                trainer.train_step()
            assert calls == [], f"{overrides}: host syncs in the step: {calls}"
            trainer.log_interval()
            assert calls.count("tolist") == 1  # the one read per interval


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA for torch.cuda.set_sync_debug_mode")
def test_no_host_sync_on_cuda(tmp_path):
    cfg = compose([*FEW, "data=ring8", "device=cuda", "trainer.batch_size=64"])
    trainer = build(cfg, tmp_path / "run", reporter=SilentReporter()).trainer
    trainer.train_step()  # first step: lazy CUDA initialisation may sync
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(5):
            trainer.train_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_benchmark_quick_prints_both_figures(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--quick", "--json", "data=ring8",
         "model.g_hidden=[32]", "model.d_hidden=[32]"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert row["trainer_img_per_s"] > 0 and row["bare_img_per_s"] > 0 and row["ratio"] > 0


@pytest.mark.slow
def test_quality_benchmark_tables_a_run_and_a_budget(tmp_path):
    """benchmarks/quality.py runs the real command and tables what summary.json says."""
    out = tmp_path / "rows.json"
    common = [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--cases", "mlp:ring8"]
    table = subprocess.run([*common, "--json", str(out), "trainer.steps=200"],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert table.returncode == 0, table.stderr
    (row,) = json.loads(out.read_text())
    assert row["model"] == "mlp" and row["data"] == "ring8" and row["time_s"] > 0
    assert 0 <= row["modes_captured"] <= 8 and "kl_uniform" in row
    assert "| modes_captured |" in table.stdout
    budget = subprocess.run([*common, "--budgets", "1,2", "--jobs", "2", "--json", str(out),
                             "--candidate", "small=model.g_hidden=[32]"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert budget.returncode == 0, budget.stderr
    assert "| small |" in budget.stdout
    (row,) = json.loads(out.read_text())
    # columns in budget order although the 2 s run is started first
    budget_keys = [key for key in row if "@" in key]
    assert budget_keys == ["modes_captured@1s", "steps@1s", "modes_captured@2s", "steps@2s"]
    assert row["steps@1s"] < row["steps@2s"]


def test_quality_benchmark_reads_model_data_cases():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import quality
    finally:
        sys.path.pop(0)
    assert quality.parse_cases("mlp:ring8, dcgan:fashion_mnist") == [
        ("mlp", "ring8"),
        ("dcgan", "fashion_mnist"),
    ]
    with pytest.raises(SystemExit, match="not model:data"):
        quality.parse_cases("mlp")
