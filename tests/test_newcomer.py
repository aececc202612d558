"""A newcomer's mistakes (issue #21), through the real command: a typo'd option gets the closest
choice, a plugin that is not installed gets the extra that installs it."""

import pytest
from hydra.errors import MissingConfigException

from gan_cli.commands import errors_report
from tests.helpers import run_gan


def assert_one_line_exit_2(result) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: ")
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_an_option_typo_suggests_the_closest_choice(tmp_path):
    line = assert_one_line_exit_2(run_gan("train", "data=fashon_mnist", cwd=tmp_path))
    assert line.startswith("gan: error: Could not find 'data/fashon_mnist' (did you mean fashion_mnist?); ")
    assert line.endswith("valid options: audio_folder, cifar10, fashion_mnist, folder, grid25, mnist, ring8")
    assert not (tmp_path / "outputs").exists()


def test_an_option_far_from_every_choice_only_lists_them(tmp_path):
    line = assert_one_line_exit_2(run_gan("train", "model=transformer", cwd=tmp_path))
    assert "did you mean" not in line and "valid options: ae, dcgan, mlp, progan, resnet, vae" in line


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize(
    "override,module,extra",
    [
        ("hydra/launcher=slurm", "hydra_plugins.hydra_submitit_launcher", "slurm"),
        ("hydra/sweeper=optuna_search", "hydra_plugins.hydra_optuna_sweeper", "optuna"),
    ],
)
def test_a_plugin_that_is_not_installed_names_the_extra(tmp_path, override, module, extra):
    if _installed(module):
        pytest.skip(f"{module} is installed here: the error cannot happen")
    line = assert_one_line_exit_2(run_gan("train", "-m", override, cwd=tmp_path))
    assert line.startswith(f"gan: error: {override} needs the Hydra plugin ")
    assert line.endswith(f'not installed: pip install -e ".[{extra}]"')


def test_the_joblib_launcher_missing_names_the_sweep_extra():
    # joblib is in the test extra, so Hydra's error is built as Hydra builds it
    error = MissingConfigException(
        "In 'hydra/config': Could not find 'hydra/launcher/joblib'\n\n"
        "Available options in 'hydra/launcher':\n\tbasic\n\tslurm\nConfig search path:\n\tprovider=hydra",
        missing_cfg_file="hydra/launcher/joblib",
    )
    assert errors_report.one_line(error) == (
        "hydra/launcher=joblib needs the Hydra plugin hydra-joblib-launcher, which is not installed: "
        'pip install -e ".[sweep]"'
    )


def test_the_submitit_launcher_missing_names_the_slurm_extra():
    # the test extra installs hydra-submitit-launcher, so Hydra's error is built as Hydra builds it
    error = MissingConfigException(
        "In 'hydra/launcher/slurm_ddp': Could not load 'hydra/launcher/submitit_slurm'.",
        missing_cfg_file="hydra/launcher/submitit_slurm",
    )
    assert errors_report.one_line(error) == (
        "hydra/launcher=slurm_ddp needs the Hydra plugin hydra-submitit-launcher, which is not installed: "
        'pip install -e ".[slurm]"'
    )


@pytest.mark.parametrize("launcher", ["slurm", "slurm_ddp"])
def test_a_slurm_launcher_without_slurm_is_one_line_and_no_folder(tmp_path, launcher):
    if not _installed("hydra_plugins.hydra_submitit_launcher"):
        pytest.skip("hydra-submitit-launcher is not installed: the missing plugin is named instead")
    import shutil

    if shutil.which("sbatch"):
        pytest.skip("this machine has SLURM")
    line = assert_one_line_exit_2(
        run_gan("train", "-m", f"hydra/launcher={launcher}", "data=ring8", cwd=tmp_path)
    )
    assert f"hydra/launcher={launcher} submits the jobs to SLURM" in line and "submitit_local" in line
    assert not (tmp_path / "outputs").exists()
