"""The `gan` command itself: dispatch, Hydra flags after the command word, one-line errors."""

import os
import subprocess
import sys

import pytest

from gan_cli.commands import dispatch
from tests.helpers import run_folders, run_gan


def test_gan_help_lists_the_commands(capsys):
    dispatch.main(["gan", "--help"])
    out = capsys.readouterr().out
    assert "train" in out and "usage: gan <command>" in out


def test_unknown_command_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        dispatch.main(["gan", "trian"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown command 'trian'" in err and "train" in err


def test_train_help_shows_groups_and_options(tmp_path):
    result = run_gan("train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for line in (
        "model: ae, dcgan, mlp, progan, resnet, vae, wavegan",
        "data: audio_folder, cifar10, fashion_mnist, folder, grid25, mnist, ring8",
        "optim: adam, adamw, rmsprop, sgd",
        "loss: hinge, lsgan, minimax, ns, relativistic, wgan",
        "batch_size: 64",
    ):
        assert line in result.stdout
    assert "schema" not in result.stdout


def test_cfg_job_prints_the_resolved_config(tmp_path):
    result = run_gan("train", "--cfg", "job", "model=dcgan", "optim.lr=1e-4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "name: dcgan" in result.stdout and "lr: 0.0001" in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_info_flag_works_after_the_command_word(tmp_path):
    result = run_gan("train", "--info", "config", cwd=tmp_path)
    assert result.returncode == 0 and "Config" in result.stdout


def test_installed_console_script_runs():
    result = subprocess.run(["gan", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "train" in result.stdout


def completion(line: str) -> str:
    env = {**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line))}
    result = subprocess.run(
        [sys.executable, "-m", "gan_cli", "-sc", "query=bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_shell_completion_of_commands_and_overrides():
    assert completion("gan tr").split() == ["train"]
    assert "model=" in completion("gan train mod").split()
    assert set(completion("gan train model=").split()) >= {"model=mlp", "model=dcgan"}


def test_shell_completion_install_script(tmp_path):
    result = run_gan("train", "-sc", "install=bash", cwd=tmp_path)
    assert result.returncode == 0 and "hydra_bash_completion" in result.stdout


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["model=stylegan"], "valid options: ae, dcgan, mlp, progan, resnet, vae"),
        (["trainer.stepz=10"], "did you mean trainer.steps?"),
        (["trainer.batch_size=ten"], "trainer.batch_size"),
        (["trainer.batch_size=0"], "trainer.batch_size=0 is out of range"),
        (["data=mnist", "data.download=false"], "MNIST"),
        (["data=folder", "data.path=does/not/exist"], "does/not/exist"),
        (["device=cuda:7"], "device=cuda:7"),
        (["data=ring8", "hydra.run.dir=/proc/gan_run"], "cannot write /proc/gan_run"),
        (["data=ring8", "+model._target_=os.system"], "model._target_: configs may not name callables"),
        (["data=ring8", "device=mps"], "device=mps: MPS is not available"),
        (["data=ring8", "recipe.foo=1"], "unknown key 'recipe.foo'"),
        (["data=ring8", "+recipe.foo=1"], "unknown key 'recipe.foo'"),
        # an option picked inside a list gets the group's options too, as logger=neptune does
        (
            ["data=ring8", "logger=[neptune]"],
            "'logger/neptune'; valid options: csv, jsonl, mlflow, tensorboard, wandb",
        ),
        (["data=ring8", "logger=[jsonl,tensorbord]"], "(did you mean tensorboard?)"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, overrides, expected):
    result = run_gan("train", *overrides, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("gan: error: ") and expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert run_folders(tmp_path) == []  # a refused run leaves no folder behind


def test_missing_data_names_the_path_and_the_way_to_get_it(tmp_path):
    result = run_gan("train", "data=cifar10", "data.download=false", cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "data") in result.stderr and "GAN_DATA_DIR" in result.stderr


def test_help_and_config_errors_answer_before_torch_is_imported(tmp_path):
    probe = (
        "import sys\n"
        "from gan_cli.commands.dispatch import main\n"
        "for argv in (['gan', '--help'], ['gan', 'train', '--help'],\n"
        "             ['gan', 'train', 'trainer.batch_size=0']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch imported' if 'torch' in sys.modules else 'no torch')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().endswith("no torch"), result.stdout + result.stderr


def test_help_into_a_closed_pipe_prints_no_traceback(tmp_path):
    done = subprocess.run(
        f"{sys.executable} -m gan_cli train --help | head -1",
        shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.startswith("gan train") and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.parametrize("command", ["train", "sample", "eval"])
def test_openmp_waits_sleep_unless_the_user_says_otherwise(command, monkeypatch, capsys):
    for preset, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        if preset is None:
            monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
        else:
            monkeypatch.setenv("OMP_WAIT_POLICY", preset)
        with pytest.raises(SystemExit):
            dispatch.main(["gan", command, "--help"])
        assert os.environ["OMP_WAIT_POLICY"] == expected
    capsys.readouterr()
