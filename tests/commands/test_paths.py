"""Paths people have: spaces, commas, `=`, non-ASCII letters and `~` in every path key, and a
resume command printed on one line that a shell runs as it is (gan_cli/commands/paths.py)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from gan_cli.commands import paths
from gan_cli.commands.resume import rewrite_arguments
from gan_cli.outputs import checkpoint
from tests.helpers import run_folders, run_gan

TINY = ["data=ring8", "model.g_hidden=[8]", "model.d_hidden=[8]", "trainer.progress=false",
        "trainer.log_every=1", "trainer.sample_every=1", "trainer.ckpt_every=1",
        "trainer.eval_every=0"]  # fmt: skip
# A folder name with all that Hydra's grammar cannot take unquoted, and a shell must quote.
ODD = "josé run 1,b=c ~#[x]'q\""
ODD_NAMES = ["plain", "with space", "a,b", "k=v", "josé", "~tilde", "it's", 'say "hi"', "both ' and \"",
             "end\\", "a\\'b", "[br]", "#hash", " lead", "trail ", ODD]  # fmt: skip


def hydra_reads(override: str):
    return OverridesParser.create().parse_overrides([override])[0].value()


@pytest.mark.parametrize("name", ODD_NAMES)
def test_hydra_reads_a_quoted_path_back_as_it_was(name):
    path = f"/tmp/{name}/run"
    assert hydra_reads(paths.override("ckpt", path)) == path


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_resume_command_is_one_shell_line_that_gives_gan_the_path(name):
    command = paths.resume_command(f"/tmp/{name}")
    assert "\n" not in command
    words = subprocess.run(
        ["bash", "-c", f'gan() {{ printf "%s\\n" "$@"; }}; {command}'], capture_output=True, text=True
    ).stdout.splitlines()
    assert words[0] == "train" and len(words) == 2
    assert rewritten_target(words[1]) == f"/tmp/{name}"


def rewritten_target(argument: str) -> str:
    (normalized,) = paths.normalize_arguments([argument])
    return paths.literal_value(normalized)


def test_plain_paths_stay_unquoted():
    assert paths.override("resume", "/home/ana/outputs/2026-11-28/10-00-00-mlp-ring8") == (
        "resume=/home/ana/outputs/2026-11-28/10-00-00-mlp-ring8"
    )
    assert paths.resume_command("/tmp/outputs/run") == "gan train resume=/tmp/outputs/run"


def test_path_keys_are_expanded_and_quoted_for_hydra(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "josé"))
    home = str(tmp_path / "josé")
    args = ["data.path=~/my photos", "out=a,b.png", "data.root=x=y", "+ckpt=~", "trainer.steps=3", "n=2"]
    normalized = paths.normalize_arguments(args)
    assert [paths.literal_value(a) for a in normalized[:4]] == [f"{home}/my photos", "a,b.png", "x=y", home]
    assert normalized[3].startswith("+ckpt=") and normalized[4:] == ["trainer.steps=3", "n=2"]
    for argument in normalized:
        OverridesParser.create().parse_overrides([argument])  # all of them read


def test_what_is_not_a_path_is_left_alone(tmp_path):
    kept = ["resume=latest", "resume=null", "out=null", "~out", "seed=1", "--cfg", "job"]
    kept += ["hydra.run.dir=o/${data.name}"]
    assert paths.normalize_arguments(kept) == kept
    sweep = ["-m", "ckpt=a.pt,b.pt"]
    assert paths.normalize_arguments(sweep) == sweep  # a sweep over checkpoints, under -m
    existing = tmp_path / "a,b"
    existing.mkdir()
    assert paths.literal_value(paths.normalize_arguments(["-m", f"ckpt={existing}"])[1]) == str(existing)


def test_resume_of_an_odd_folder_names_it_so_that_hydra_reads_it(tmp_path):
    run_dir = tmp_path / ODD / "outputs" / "2026-11-28" / "10-00-00-mlp-ring8"
    (run_dir / "checkpoints").mkdir(parents=True)
    checkpoint.save({"overrides": ["data=ring8", "trainer.steps=10"]}, run_dir / "checkpoints" / "last.pt")
    printed = paths.resume_command(run_dir).split(" ", 2)[2]
    argv = subprocess.run(["bash", "-c", f'printf "%s\\n" {printed}'], capture_output=True, text=True).stdout
    args = rewrite_arguments(paths.normalize_arguments([argv.rstrip("\n")]))
    assert args[0] == "data=ring8"
    assert hydra_reads(args[-2]) == str((run_dir / "checkpoints" / "last.pt").resolve())
    assert hydra_reads(args[-1]) == str(run_dir.resolve())


@pytest.mark.slow
def test_every_command_takes_odd_paths_and_a_stopped_run_resumes_by_its_printed_command(tmp_path):
    home = tmp_path / "josé"
    cwd = home / ODD
    cwd.mkdir(parents=True)
    env = {"HOME": str(home), "COLUMNS": "40"}  # a narrow terminal would wrap a long line
    data_root = "~/data dir,1=2"
    process = subprocess.Popen(
        [sys.executable, "-m", "gan_cli", "train", *TINY, "trainer.steps=1000000", f"data.root={data_root}"],
        cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while not list(cwd.glob("outputs/*/*/checkpoints/last.pt")) and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT, err
    (run_dir,) = run_folders(cwd)
    (line,) = [line for line in out.splitlines() if "Resume with: " in line]
    command = line.split("Resume with: ", 1)[1]
    step = checkpoint.load(run_dir / "checkpoints" / "last.pt")["step"]

    script = f'gan() {{ "{sys.executable}" -m gan_cli "$@"; }}; {command} trainer.steps={step + 2}'
    resumed = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(run_dir / "checkpoints" / "last.pt")["step"] == step + 2
    assert run_folders(cwd) == [run_dir]  # continued in its own folder

    # ~ and odd names in resume=, ckpt=, out= and hydra.run.dir=, given without any quoting
    relative = run_dir.relative_to(home)
    again = run_gan("train", f"resume=~/{relative}", f"trainer.steps={step + 3}", cwd=cwd, env=env)
    assert again.returncode == 0, again.stderr
    sampled = run_gan("sample", f"ckpt=~/{relative}", "n=5", "format=npy", f"out=~/{ODD}/s a,m=p.npy",
                      f"hydra.run.dir=~/{ODD}/sample, run=1", cwd=cwd, env=env)  # fmt: skip
    assert sampled.returncode == 0, sampled.stderr
    assert np.load(cwd / "s a,m=p.npy").shape == (5, 2)
    assert not (cwd / "sample, run=1").exists()  # out= given: the job's own folder is removed
    shown = run_gan("train", *TINY, f"hydra.run.dir=~/{ODD}/new run", "--cfg", "hydra", cwd=cwd, env=env)
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout)["hydra"]["run"]["dir"] == str(cwd / "new run")
