"""Run folders are never shared, never reused by a new run, and cleanup removes only what the
command made (gan_cli/outputs/run_folder.py, gan_cli/commands/run_dir_callback.py)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gan_cli.outputs import run_folder
from gan_cli.errors import UserError
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
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
