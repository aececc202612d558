"""Never report success on a broken model, never lose last.pt (#20): on_nan=skip, non-finite
checkpoints, full disks, corrupt and crafted checkpoints, and signals during a long step."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import pytest
import torch

from gan_cli.commands.resume import DATA_DEFAULTS_OFF  # noqa: E402
from gan_cli.commands.train import build, run
from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint, plots
from gan_cli.training import trainer
from gan_cli.training.trainer import MAX_SKIPPED_SHARE, TrainingDiverged, TrainingStopped
from tests.helpers import compose_train, run_gan

FIXTURE_V1 = Path(__file__).parent / "fixtures" / "ckpt_v1_ring8.pt"  # written by gan_cli before format 2
FIXTURE_V2 = Path(__file__).parent / "fixtures" / "ckpt_v2_ring8.pt"  # format 2, step 10, before recipes
# These tests were written against the general defaults (BatchNorm in G, a constant rate), not
# ring8's own (configs/data_defaults), so those are switched off here.
TINY = ["data=ring8", "~data_defaults@_global_", "~data_defaults@optim", "model.g_hidden=[8]",
        "model.d_hidden=[8]", "trainer.progress=false", "trainer.eval_every=0",
        "trainer.sample_every=1000", "trainer.ckpt_every=1000"]  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("gan: warning")]  # interval notes, not errors
    assert len(lines) == 1 and lines[0].startswith("gan: error: "), result.stderr
    return lines[0]


def all_finite(payload: dict) -> bool:
    return all(
        bool(t.isfinite().all())
        for weights in (
            payload["generator"],
            *payload.get("networks", {}).values(),
            payload.get("ema_generator", {}),
        )
        for t in weights.values()
        if t.is_floating_point()
    )


def every_nth_nan(monkeypatch, name: str, keep):
    """Make losses.<name> return NaN on the calls for which keep(call number) is False."""
    from gan_cli.training import losses

    real = getattr(losses, name)
    calls = {"n": 0}

    def patched(*args):
        calls["n"] += 1
        value = real(*args)
        return value if keep(calls["n"]) else value * float("nan")

    monkeypatch.setattr(losses, name, patched)


# ---- trainer.on_nan=skip ------------------------------------------------------------------------
def test_the_issue_repro_stops_at_the_first_checkpoint_with_inf_batchnorm_statistics(tmp_path):
    repro = ["data=ring8", "~data_defaults@_global_", "optim=sgd", "optim.lr=1e4", "trainer.steps=60",
             "trainer.ckpt_every=20", "trainer.on_nan=skip", "trainer.progress=false",
             "trainer.eval_every=0"]  # fmt: skip
    cfg = compose_train(*repro)
    with pytest.raises(TrainingDiverged, match=r"holds NaN or inf at step \d+; last.pt was not written"):
        run(cfg, tmp_path)
    last = tmp_path / "checkpoints" / "last.pt"
    assert not last.exists() or all_finite(checkpoint.load(last))
    assert not (tmp_path / "checkpoints" / "best.pt").exists()


def test_buffers_are_checked_before_a_checkpoint(tmp_path):
    two_layers = [o if not o.startswith("model.g_hidden") else "model.g_hidden=[8,8]" for o in TINY]
    # the mlp puts BatchNorm after its second layer
    trained = build(compose_train(*two_layers, "trainer.steps=4"), tmp_path).trainer
    trained.train_step()
    running_var = next(
        name for name in trained.networks["generator"].state_dict() if name.endswith("running_var")
    )
    trained.networks["generator"].state_dict()[running_var].fill_(float("inf"))
    with pytest.raises(TrainingDiverged, match=rf"the G tensor {running_var} holds NaN or inf at step 1; "
                       "last.pt was not written, no checkpoint was written yet"):  # fmt: skip
        trained.save_checkpoint(periodic=False)
    assert not (tmp_path / "checkpoints" / "last.pt").exists()


def test_most_updates_skipped_ends_the_run_naming_the_step_and_the_share(tmp_path, monkeypatch):
    every_nth_nan(monkeypatch, "ns_d_loss", keep=lambda n: n % 3 == 0)  # 2 of 3 D updates dropped
    cfg = compose_train(*TINY, "trainer.steps=30", "trainer.log_every=10", "trainer.on_nan=skip")
    with pytest.raises(TrainingDiverged) as caught:
        run(cfg, tmp_path)
    message = str(caught.value)
    assert "trainer.on_nan=skip dropped 7 of 10 D updates (70%" in message
    assert f"more than {MAX_SKIPPED_SHARE:.0%}) in the 10 steps up to step 10" in message
    assert "\n" not in message


def test_an_interval_without_one_whole_update_logs_no_losses(tmp_path, monkeypatch):
    # D's update is dropped on odd steps, G's on even ones: half of each, yet no step counted
    every_nth_nan(monkeypatch, "ns_d_loss", keep=lambda n: n % 2 == 0)
    every_nth_nan(monkeypatch, "ns_g_loss", keep=lambda n: n % 2 == 1)
    run(compose_train(*TINY, "trainer.steps=4", "trainer.log_every=2", "trainer.on_nan=skip"), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in records] == [2, 4]
    assert not any(key in r for r in records for key in ("d_loss", "g_loss", "d_real", "d_fake"))


# ---- gan sample / gan eval refuse non-finite weights --------------------------------------------
def nan_checkpoint(folder: Path) -> Path:
    payload = checkpoint.load(FIXTURE_V1)
    name = next(iter(payload["generator"]))
    payload["generator"][name][0] = float("nan")
    return checkpoint.save(payload, folder / "nan.pt")


def test_load_generator_refuses_non_finite_weights(tmp_path):
    from gan_cli import sampling

    path = nan_checkpoint(tmp_path)
    with pytest.raises(UserError, match=r"nan.pt: the 'generator' tensor net.0.weight holds NaN or inf"):
        sampling.load_generator(path)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["sample", "eval"])
def test_gan_sample_and_eval_refuse_non_finite_weights(tmp_path, command):
    path = nan_checkpoint(tmp_path)
    line = one_line_error(run_gan(command, f"ckpt={path}", f"out={tmp_path / 'out'}", cwd=tmp_path))
    assert str(path) in line and "net.0.weight holds NaN or inf" in line
    assert not (tmp_path / "out").exists()


# ---- formats 1 and 2 keep loading everywhere -----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("fixture", [FIXTURE_V1, FIXTURE_V2], ids=["format-1", "format-2"])
def test_an_old_checkpoint_samples_evaluates_and_resumes(tmp_path, fixture):
    run_dir = tmp_path / "old-run"
    (run_dir / "checkpoints").mkdir(parents=True)
    shutil.copy(fixture, run_dir / "checkpoints" / "last.pt")
    sampled = run_gan("sample", f"ckpt={run_dir}", "n=8", f"out={tmp_path / 'pts.npy'}", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    evaluated = run_gan("eval", f"ckpt={run_dir}", "n=100", f"out={tmp_path / 'eval.json'}", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "modes_captured" in json.loads((tmp_path / "eval.json").read_text())["metrics"]
    resumed = run_gan("train", f"resume={run_dir}", "trainer.steps=14", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    payload = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert payload["step"] == 14 and payload["format_version"] == checkpoint.FORMAT_VERSION


# ---- corrupt and crafted checkpoints given to the commands ---------------------------------------
def crafted(kind: str, folder: Path) -> Path:
    run_dir = folder / kind.replace(" ", "-")
    (run_dir / "checkpoints").mkdir(parents=True)
    path = run_dir / "checkpoints" / "last.pt"
    payload = checkpoint.load(FIXTURE_V1)
    # re-saved as format 2, it records what a resumed format-1 run records (resume.DATA_DEFAULTS_OFF)
    payload["overrides"] = [*payload["overrides"], *DATA_DEFAULTS_OFF]
    if kind == "bit flip":
        weights = payload["networks"]["discriminator"]["net.1.weight"]
        checkpoint.save(payload, path)
        raw = bytearray(path.read_bytes())
        raw[raw.find(weights.numpy().tobytes()) + 5] ^= 0x10
        path.write_bytes(bytes(raw))
    elif kind == "wrong shapes":
        payload["networks"]["discriminator"]["net.1.weight"] = torch.zeros(3, 3)
        payload["generator"]["net.0.weight"] = torch.zeros(3, 3)
        checkpoint.save(payload, path)
    elif kind == "bad rng":
        payload["rng"]["numpy"]["keys"] = torch.zeros(5, dtype=torch.int64)
        checkpoint.save(payload, path)
    elif kind == "string version":
        torch.save({**payload, "format_version": "2"}, path)
    elif kind == "not a dict":
        torch.save([payload["generator"]], path)
    return path


CRAFTED = {
    "bit flip": "is corrupt (checksum mismatch)",
    "wrong shapes": "weights do not fit the model",
    "bad rng": "'rng' is not a restorable random state",
    "string version": "format_version '2' is not an integer",
    "not a dict": "it holds a list, not a dict",
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", CRAFTED)
def test_crafted_checkpoints_are_one_line_for_resume_and_sample(tmp_path, kind):
    path = crafted(kind, tmp_path)
    line = one_line_error(run_gan("train", f"resume={path}", "trainer.steps=4", cwd=tmp_path))
    assert str(path) in line and CRAFTED[kind] in line
    if kind != "bad rng":  # gan sample needs no random state
        line = one_line_error(run_gan("sample", f"ckpt={path}", f"out={tmp_path / 'x.npy'}", cwd=tmp_path))
        assert str(path) in line and CRAFTED[kind] in line


def test_wrong_shapes_on_resume_name_the_file_and_the_entry(tmp_path):
    path = crafted("wrong shapes", tmp_path)
    # recipe=gan: what resume's command line pins for a checkpoint from before recipes
    cfg = compose_train(
        *checkpoint.load(path)["overrides"], "recipe=gan", f"resume={path}", "trainer.steps=4"
    )
    with pytest.raises(UserError, match=rf"{path}: the 'generator' weights do not fit the model"):
        build(cfg, tmp_path / "run")


# ---- full disks ---------------------------------------------------------------------------------
def test_a_full_disk_while_writing_a_grid_names_the_file_and_last_pt(tmp_path, monkeypatch):
    trained = build(compose_train(*TINY, "trainer.steps=4"), tmp_path).trainer
    trained.train_step()
    trained.save_checkpoint(periodic=False)

    def full_disk(image, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    from PIL import Image

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(UserError) as caught:
        trained.write_samples()
    grid = tmp_path / "samples" / "step_0000001.png"
    assert str(caught.value) == (
        f"could not write {grid}: No space left on device; checkpoints/last.pt (step 1) is intact"
    )
    assert not grid.exists()  # no half-written picture left


def test_save_png_names_the_file(tmp_path):
    with pytest.raises(UserError, match=r"could not write .*missing/x.png: No such file or directory"):
        plots.save_png(torch.zeros(3, 4, 4), tmp_path / "missing" / "x.png")


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root and a kernel that lets this container mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounting = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]
    done = subprocess.run(mounting, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_disk_that_fills_up_during_training_keeps_last_pt(tmp_path, small_disk):
    run_dir = small_disk / "run"
    command = [sys.executable, "-m", "gan_cli", "train", *TINY, "trainer.steps=100000",
               "trainer.ckpt_every=25", "trainer.log_every=100000", "trainer.keep_checkpoints=0",
               f"hydra.run.dir={run_dir}"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=PIPE, stderr=PIPE, text=True)
    last = run_dir / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    # Then take every byte the run frees, until the run hits the full disk itself.
    with open(small_disk / "filler", "ab", buffering=0) as filler:
        while process.poll() is None and time.time() < deadline:
            try:
                filler.write(b"\0" * 4096)
            except OSError:
                time.sleep(0.01)
    out, err = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(command, process.returncode, out, err)
    line = one_line_error(result)
    assert "No space left on device" in line and "last.pt" in line and "intact" in line, line
    assert checkpoint.load(last, expect=checkpoint.FOR_RESUME)["step"] % 25 == 0
    assert not checkpoint.stale_partials(run_dir / "checkpoints")


# ---- signals during a long step -----------------------------------------------------------------
def test_a_second_signal_stops_at_once():
    with trainer.stop_requests() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signals == [signal.SIGTERM]
        with pytest.raises(trainer._StopNow):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs between bytecodes; this gives it the chance


def test_a_step_too_long_to_wait_for_is_cut_and_nothing_half_done_is_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "STOP_WAIT_S", 0.0)
    trained = build(compose_train(*TINY, "trainer.steps=3", "trainer.d_steps=50", "trainer.ckpt_every=1"),
                    tmp_path).trainer  # fmt: skip
    batches, calls = trained.batches, {"n": 0}
    real_next = batches.next

    def signal_during_step_3():
        calls["n"] += 1
        if calls["n"] == 2 * 50 + 10:  # the 10th D update of the third step
            os.kill(os.getpid(), signal.SIGTERM)
        return real_next()

    monkeypatch.setattr(batches, "next", signal_during_step_3)
    with pytest.raises(TrainingStopped) as caught:
        trained.fit()
    assert caught.value.saved_step == 2 and trained.step == 2
    expected = "stopped by SIGTERM at step 2, in the middle of the next step; last.pt is from step 2"
    assert str(caught.value) == expected
    assert checkpoint.load(tmp_path / "checkpoints" / "last.pt")["step"] == 2
    assert calls["n"] <= 2 * 50 + 11  # within one D update of the signal


def test_a_signal_in_a_short_step_still_finishes_and_saves_it(tmp_path, monkeypatch):
    trained = build(compose_train(*TINY, "trainer.steps=5", "trainer.d_steps=3"), tmp_path).trainer
    real_next, calls = trained.batches.next, {"n": 0}

    def signal_in_step_2():
        calls["n"] += 1
        if calls["n"] == 4:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_next()

    monkeypatch.setattr(trained.batches, "next", signal_in_step_2)
    with pytest.raises(TrainingStopped, match="stopped by SIGTERM at step 2; checkpoint written"):
        trained.fit()
    assert checkpoint.load(tmp_path / "checkpoints" / "last.pt")["step"] == 2


@pytest.mark.slow
def test_sigterm_ends_a_run_whose_steps_are_long(tmp_path):
    # d_steps at its maximum with a wide D: one step takes far longer than STOP_WAIT_S on a CPU
    command = [sys.executable, "-m", "gan_cli", "train", *TINY, "trainer.d_steps=1000",
               "trainer.batch_size=4096",
               "model.d_hidden=[512,512]", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=PIPE, stderr=PIPE, text=True)
    first_grid = tmp_path / "run" / "samples" / "step_0000000.png"
    deadline = time.time() + 120
    while not first_grid.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM at step 0, in the middle of the next step; no checkpoint was written" in out
    assert "Resume with" not in out and "Traceback" not in err
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()
