"""Run folders are never shared, never reused by a new run, and cleanup removes only what the
command made (gan_cli/outputs/run_folder.py, gan_cli/commands/run_dir_callback.py)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gan_cli.errors import UserError
from gan_cli.outputs import run_folder
from tests.helpers import run_folders, run_gan

TINY = ["data=ring8", "trainer.steps=2", "model.g_hidden=[8]", "model.d_hidden=[8]", "trainer.progress=false",
        "trainer.log_every=1", "trainer.sample_every=1", "trainer.ckpt_every=1",
        "trainer.eval_every=0"]  # fmt: skip
REFUSED = ["trainer.steps=-1"]  # refused by the config check, after Hydra has written its files


def one_line_error(result, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


@pytest.fixture(autouse=True)
def fresh_record():
    run_folder.forget()
    yield
    run_folder.forget()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run, copied by the tests that need a run folder."""
    cwd = tmp_path_factory.mktemp("trained")
    result = run_gan("train", *TINY, cwd=cwd)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(cwd)
    return run_dir


def copy_run(trained: Path, cwd: Path) -> Path:
    run_dir = cwd / "outputs" / trained.parent.name / trained.name
    shutil.copytree(trained, run_dir)
    return run_dir


# ---- the record of what this process made --------------------------------------------------------------
def test_a_fresh_name_taken_gets_the_next_suffix(tmp_path):
    base = tmp_path / "outputs" / "day" / "10-00-00-mlp-ring8"
    assert run_folder.claim_fresh(base) == base
    assert run_folder.claim_fresh(base) == base.with_name(base.name + "-2")
    base.with_name(base.name + "-3").mkdir()  # another process's
    assert run_folder.claim_fresh(base) == base.with_name(base.name + "-4")


def test_cleanup_removes_the_folders_this_process_made_and_nothing_above(tmp_path):
    run_dir = run_folder.claim_fresh(tmp_path / "outputs" / "day" / "run")
    (run_dir / ".hydra").mkdir()
    (run_dir / "train.log").write_text("log")
    run_folder.discard_if_unused(run_dir, {".hydra", "train.log"})
    assert list(tmp_path.iterdir()) == []  # run, day and outputs were all made by it


def test_cleanup_keeps_a_date_folder_that_was_there(tmp_path):
    (tmp_path / "outputs" / "day").mkdir(parents=True)
    run_dir = run_folder.claim_fresh(tmp_path / "outputs" / "day" / "run")
    run_folder.discard_if_unused(run_dir, {".hydra"})
    assert not run_dir.exists() and (tmp_path / "outputs" / "day").is_dir()


def test_cleanup_keeps_a_folder_holding_results(tmp_path):
    run_dir = run_folder.claim_fresh(tmp_path / "run")
    (run_dir / "samples.png").write_bytes(b"png")
    run_folder.discard_if_unused(run_dir, {".hydra"})
    assert (run_dir / "samples.png").is_file()


def test_a_named_folder_that_existed_keeps_all_it_held(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "old.log").write_text("not ours")
    assert run_folder.claim_named(folder, "hydra.run.dir") == folder
    (folder / ".hydra").mkdir()
    (folder / "train.log").write_text("ours")
    run_folder.discard_if_unused(folder, {".hydra", "train.log", "old.log"})
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "old.log"]


def test_cleanup_of_a_folder_this_command_did_not_claim_does_nothing(tmp_path):
    (tmp_path / ".hydra").mkdir()
    run_folder.discard_if_unused(tmp_path, {".hydra"})
    assert (tmp_path / ".hydra").is_dir()


def test_a_named_folder_holding_a_run_is_refused_unless_continued(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(UserError, match="holds another run"):
        run_folder.claim_named(tmp_path / "run", "hydra.run.dir")
    assert run_folder.claim_named(tmp_path / "run", "hydra.run.dir", may_hold_a_run=True) == tmp_path / "run"


def test_a_named_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="is a file"):
        run_folder.claim_named(tmp_path / "f", "hydra.run.dir")


# ---- the real commands -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_three_runs_started_in_the_same_second_get_three_folders(tmp_path):
    # The folder's name is the same for all three (no time in it): they collide for certain.
    env = {**os.environ, "GAN_DATA_DIR": str(tmp_path / "data")}
    env.pop("HYDRA_FULL_ERROR", None)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "gan_cli", "train", *TINY, f"seed={seed}", "hydra.run.dir=o/${data.name}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for seed in (1, 2, 3)
    ]
    for process in runs:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    folders = sorted((tmp_path / "o").iterdir())
    assert [p.name for p in folders] == ["ring8", "ring8-2", "ring8-3"]
    seeds = set()
    for folder in folders:
        steps = [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2], folder  # its own records, once each
        overrides = (folder / ".hydra" / "overrides.yaml").read_text()
        seeds |= {line for line in overrides.splitlines() if "seed=" in line}
    assert len(seeds) == 3


@pytest.mark.slow
def test_a_new_run_into_a_run_folder_is_refused_and_the_old_run_is_untouched(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    before = tree(run_dir)
    result = run_gan("train", *TINY, "seed=5", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    one_line_error(result, "holds another run")
    assert tree(run_dir) == before  # not even .hydra/config.yaml or train.log was written


@pytest.mark.slow
def test_a_refused_run_keeps_a_named_folder_that_existed(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    result = run_gan("train", *TINY, *REFUSED, f"hydra.run.dir={mine}", cwd=tmp_path)
    one_line_error(result, "trainer.steps=-1")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]  # its .hydra and train.log went


@pytest.mark.slow
def test_a_refused_run_into_the_working_folder_keeps_it_and_its_parent(tmp_path):
    cwd = tmp_path / "parent" / "empty"
    cwd.mkdir(parents=True)
    result = run_gan("train", *REFUSED, "hydra.run.dir=.", cwd=cwd)
    one_line_error(result, "trainer.steps=-1")
    assert cwd.is_dir() and list(cwd.iterdir()) == []


@pytest.mark.slow
def test_a_refused_run_leaves_no_folder_and_no_outputs(tmp_path):
    result = run_gan("train", *REFUSED, cwd=tmp_path)
    one_line_error(result, "trainer.steps=-1")
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_sample_and_eval_with_a_named_folder_that_existed_keep_it(trained, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    sampled = run_gan("sample", f"ckpt={trained}", "n=4", "out=s.npy", "format=npy", f"hydra.run.dir={mine}",
                      cwd=tmp_path)  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr
    assert (tmp_path / "s.npy").is_file()
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    run_dir = copy_run(trained, tmp_path)
    scored = run_gan("eval", f"ckpt={run_dir}", "n=50", f"hydra.run.dir={mine}", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_resume_continues_in_its_own_folder(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    result = run_gan("train", f"resume={run_dir}", "trainer.steps=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_folders(tmp_path) == [run_dir]
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]


@pytest.mark.slow
def test_a_sweep_whose_folder_is_taken_gets_a_fresh_one(tmp_path):
    taken = tmp_path / "sweeps" / "ring8"
    taken.mkdir(parents=True)
    (taken / "multirun.yaml").write_text("someone else's sweep\n")
    result = run_gan("train", "-m", *TINY, "seed=1,2", "hydra.sweep.dir=sweeps/${data.name}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (taken / "multirun.yaml").read_text() == "someone else's sweep\n"
    fresh = tmp_path / "sweeps" / "ring8-2"
    assert sorted(p.name for p in fresh.iterdir() if p.is_dir()) == ["0-seed=1", "1-seed=2"]
    assert (fresh / "summary.csv").is_file() and "sweeps/ring8-2" in result.stdout


# ---- every rank of a launch in rank 0's folder ---------------------------------------------------------
# Each rank runs the callback as `gan train` under torchrun would: the config composed with its own
# ${now:...}, RANK/WORLD_SIZE from the launcher. RANK_SCRIPT is one such rank in a process of its own.
RANK_SCRIPT = """
import sys
from hydra import compose, initialize_config_module
import gan_cli.commands.train  # the resolvers of the folder's name
from gan_cli.commands.run_dir_callback import RunFolder
with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
    config = compose(config_name="train", overrides=sys.argv[1:], return_hydra_config=True)
RunFolder().on_run_start(config)
print(config.hydra.run.dir, config.hydra.output_subdir, list(config.hydra.job_logging.handlers))
"""
# a name that differs in every process, as ${now:%H-%M-%S} can between ranks
PER_RANK_NAME = "hydra.run.dir=outputs/${now:%Y-%m-%d}/${now:%H-%M-%S-%f}-${data.name}"


def rank_env(rank: int, launch: str = "test-launch", **extra: str) -> dict[str, str]:
    env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank)}
    env.pop("HYDRA_FULL_ERROR", None)
    return {**env, "TORCHELASTIC_RUN_ID": launch, **extra}


def start_rank(rank: int, cwd: Path, *overrides: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RANK_SCRIPT, "data=ring8", PER_RANK_NAME, *overrides],
        cwd=cwd, env=rank_env(rank, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_ranks_agree_on_rank_0s_folder_and_only_rank_0_claims_it(tmp_path):
    # rank 1 starts first and waits; rank 0 claims a folder, rank 1 takes that one
    waiting = start_rank(1, tmp_path)
    main = start_rank(0, tmp_path)
    main_out, main_err = main.communicate(timeout=120)
    other_out, other_err = waiting.communicate(timeout=120)
    assert main.returncode == 0 and waiting.returncode == 0, main_err + other_err
    main_dir, main_subdir, main_handlers = main_out.split(" ", 2)
    other_dir, other_subdir, other_handlers = other_out.split(" ", 2)
    assert Path(tmp_path / main_dir).resolve() == Path(other_dir).resolve()
    days = [p for p in (tmp_path / "outputs").iterdir() if p.name != run_folder.RANKS_FOLDER]
    assert [len(list(day.iterdir())) for day in days] == [1]  # one folder claimed, by rank 0
    assert main_subdir == ".hydra" and "file" in main_handlers
    assert other_subdir == "None" and "file" not in other_handlers  # rank 1 writes no .hydra/, no train.log


def test_a_rank_waiting_for_rank_0_gives_up_in_one_line(tmp_path):
    waiting = start_rank(1, tmp_path, GAN_RANK_WAIT_S="0.3")
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("gan: error: rank 1 waited 0.3 s for rank 0"), err


def test_rank_0s_refusal_ends_the_other_ranks_at_once_with_its_reason(tmp_path):
    (tmp_path / "taken" / "checkpoints").mkdir(parents=True)
    main = start_rank(0, tmp_path, "hydra.run.dir=taken")
    _, main_err = main.communicate(timeout=120)
    assert main.returncode == 2 and "holds another run" in main_err
    waiting = start_rank(1, tmp_path, "hydra.run.dir=taken")
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 2 and err.count("\n") == 1, err
    assert "rank 0 could not make the run folder" in err and "holds another run" in err


def test_launches_are_told_apart_by_torchrun_id_slurm_job_or_local_agent():
    from gan_cli import distributed

    assert distributed.launch_key({"TORCHELASTIC_RUN_ID": "a1"}) == "run-a1"
    assert distributed.launch_key({"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "2"}) == "slurm-7-2"
    # torchrun's default id "none" is shared by every launch: the local agent (our parent) tells them apart
    local = distributed.launch_key({"TORCHELASTIC_RUN_ID": "none", "MASTER_ADDR": "h", "MASTER_PORT": "1"})
    assert local == f"h-1-{os.getppid()}"


def test_the_rank_file_lies_where_every_rank_computes_the_same_name():
    assert run_folder.rank_root("outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}-x") == Path("outputs")
    assert run_folder.rank_root("runs/a") == Path("runs")
    assert run_folder.rank_root("${x}/b") == Path(".")
