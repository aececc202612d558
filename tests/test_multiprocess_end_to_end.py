"""`gan train trainer.devices=2` end to end: two CPU processes (gloo) started by the real command,
one run folder, checkpoints that move between world sizes, and the faults of a multi-process run
(SIGTERM to the launcher, a worker killed, resume=auto)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from gan_cli.outputs import checkpoint
from tests.helpers import run_folders, run_gan

pytestmark = pytest.mark.slow

SMALL = [
    "data=ring8",
    "trainer.log_every=5",
    "trainer.ckpt_every=10",
    "trainer.sample_every=10",
    "trainer.progress=false",
    "trainer.eval_every=0",
    "trainer.batch_size=64",
]
TWO = "trainer.devices=2"


def _last(run_dir):
    return checkpoint.load(run_dir / "checkpoints" / "last.pt")


def _files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


def test_two_processes_write_one_folder_with_one_set_of_files(tmp_path):
    done = run_gan("train", *SMALL, TWO, "trainer.steps=20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_folders(tmp_path)
    files = _files(run_dir)
    assert files.count("checkpoints/last.pt") == 1
    assert not any("rank" in name for name in files), files  # no per-rank logs or leftovers
    assert len(list((run_dir / "tb").glob("events.*"))) == 1
    assert _last(run_dir)["step"] == 20
    assert done.stdout.count("2 processes") == 1  # one banner, not one per rank
    # the same command on one process makes the same set of files
    (tmp_path / "one").mkdir()
    single = run_gan("train", *SMALL, "trainer.steps=20", cwd=tmp_path / "one")
    assert single.returncode == 0, single.stderr
    (one_dir,) = run_folders(tmp_path / "one")
    assert {f for f in _files(one_dir) if not f.startswith("tb/")} == {
        f for f in files if not f.startswith("tb/")
    }


def test_a_checkpoint_moves_between_world_sizes(tmp_path):
    two = run_gan("train", *SMALL, TWO, "trainer.steps=20", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    on_one = run_gan("train", "resume=latest", "trainer.devices=1", "trainer.steps=30", cwd=tmp_path)
    assert on_one.returncode == 0, on_one.stderr
    on_two = run_gan("train", "resume=latest", TWO, "trainer.steps=40", cwd=tmp_path)
    assert on_two.returncode == 0, on_two.stderr
    (run_dir,) = run_folders(tmp_path)
    assert _last(run_dir)["step"] == 40


@pytest.mark.parametrize("preset", ["wgan_gp", "r1"])
def test_penalty_presets_train_on_two_processes(tmp_path, preset):
    # the gradient penalty and R1 take a double backward through D on each rank's share
    done = run_gan("train", f"experiment={preset}", *SMALL, TWO, "trainer.steps=10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_folders(tmp_path)
    assert _last(run_dir)["step"] == 10


def test_a_batch_that_does_not_split_is_one_line(tmp_path):
    refused = run_gan("train", *SMALL, TWO, "trainer.batch_size=63", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "trainer.batch_size=63" in refused.stderr, refused.stderr
    assert not run_folders(tmp_path)


def test_sync_bn_on_cpu_is_one_line(tmp_path):
    # torch's SyncBatchNorm runs on CUDA only; on CPU the run is refused before any process starts
    args = ["train", *SMALL, TWO, "model.g_batchnorm=true", "model.sync_bn=true", "device=cpu"]
    refused = run_gan(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "model.sync_bn=true needs CUDA" in refused.stderr


def _start_long_run(cwd):
    command = [sys.executable, "-m", "gan_cli", "train", *SMALL, TWO, "trainer.steps=1000000"]
    command += ["trainer.ckpt_every=5"]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while not list(cwd.glob("outputs/*/*/checkpoints/last.pt")) and time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        time.sleep(0.2)
    return process


def _workers(process):
    """The launcher's worker processes: torch.distributed.run spawns them as its children."""
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True)
    return [int(line) for line in listed.stdout.split()]


@pytest.mark.parametrize("target", ["launcher", "one rank"])
def test_sigterm_stops_both_ranks_after_the_same_step_with_one_checkpoint(tmp_path, target):
    process = _start_long_run(tmp_path)
    time.sleep(1.0)
    workers = _workers(process)
    if target == "launcher":
        process.send_signal(signal.SIGTERM)
    else:  # the other rank learns of it at the end of the step and stops with it
        os.kill(workers[-1], signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    (run_dir,) = run_folders(tmp_path)
    stopped_at = _last(run_dir)["step"]
    assert stopped_at > 0 and f"step {stopped_at}" in out + err  # the step the stop line names
    assert "Traceback" not in err and "rank 1 of 2" not in err
    for pid in workers:  # no rank outlives the run
        assert subprocess.run(["ps", "-p", str(pid)], capture_output=True).returncode != 0


def test_a_killed_rank_ends_the_other_within_a_minute_with_one_line(tmp_path):
    process = _start_long_run(tmp_path)
    workers = _workers(process)
    assert len(workers) == 2, workers
    killed = time.time()
    subprocess.run(["kill", "-KILL", str(workers[-1])], check=True)
    _, err = process.communicate(timeout=90)
    assert time.time() - killed < 60
    assert process.returncode == 1
    (line,) = [line for line in err.splitlines() if line.startswith("gan:")]
    assert "killed by SIGKILL" in line and "rank" in line, err
    assert "Traceback" not in err


def test_resume_auto_starts_fresh_then_continues(tmp_path):
    folder = tmp_path / "outputs" / "preemptible"
    args = ["train", *SMALL, "resume=auto", f"hydra.run.dir={folder}"]
    fresh = run_gan(*args, "trainer.steps=10", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert _last(folder)["step"] == 10
    again = run_gan(*args, TWO, "trainer.steps=20", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _last(folder)["step"] == 20
    assert len(list((folder / "tb").glob("events.*"))) == 2  # the same folder, continued


def test_a_sweep_job_of_two_submitit_tasks_is_one_two_rank_run(tmp_path):
    # submitit's local executor starts the job's tasks as SLURM would (one rank each, its own
    # variables), so this is the path of hydra/launcher=slurm_ddp without a cluster
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    args = ["train", "-m", "hydra/launcher=submitit_local", "hydra.launcher.tasks_per_node=2", *SMALL]
    done = run_gan(*args, "trainer.steps=20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    job = sweep / "0"
    assert _last(job)["step"] == 20
    logs = sorted((sweep / ".submitit").glob("*/*_log.out"))
    assert len(logs) == 2 and "(2 processes x 32)" in logs[0].read_text()
    assert "gan train" not in logs[1].read_text()  # rank 1 prints no banner


def test_the_slurm_ddp_launcher_gives_every_gpu_a_task():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra import compose, initialize_config_module

    from gan_cli.commands.config import register_schemas

    register_schemas()
    with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                "hydra/launcher=slurm_ddp",
                "hydra.launcher.gpus_per_node=4",
                "hydra.launcher.nodes=2",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert (launcher.tasks_per_node, launcher.nodes, launcher.gpus_per_node) == (4, 2, 4)
