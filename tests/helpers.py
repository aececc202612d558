"""Running the real `gan` command, and composing configs without the command."""

import os
import subprocess
import sys
from pathlib import Path

CONFIG_MODULE = "gan_cli.configs"


def run_gan(
    *args: str, cwd: Path, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`gan ARGS` in a subprocess (through the console script's module, so the installed
    entry point and `python -m gan_cli` behave the same), offline-safe and small."""
    full_env = {**os.environ, "GAN_DATA_DIR": str(cwd / "data"), **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "gan_cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def compose_train(*overrides: str):
    """The train config as `gan train OVERRIDES` would see it, with no run folder."""
    from hydra import compose, initialize_config_module

    from gan_cli.commands.config import register_schemas

    register_schemas()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def run_folders(cwd: Path) -> list[Path]:
    # .ranks/ (a torchrun launch's shared folder name, gan_cli/outputs/run_folder.py) is no run
    return sorted(
        p
        for p in (cwd / "outputs").glob("*/*")
        if p.is_dir() and p.parent.name != "multirun" and not p.name.startswith(".")
    )


class SilentReporter:
    """A reporter for in-process trainers that prints nothing and keeps the last logged record."""

    last: dict | None = None

    def log(self, step, record):
        self.last = record

    def image(self, step, tag, image):
        pass

    def audio(self, step, tag, clips, sample_rate):
        pass

    def note(self, message):
        pass
