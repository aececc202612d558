"""The README's `gan train` commands compose and validate as written (keys, options, values)."""

import re
import shlex
from pathlib import Path

import pytest

from gan_cli.config import validate
from tests.helpers import compose_train

README = Path(__file__).parents[1] / "README.md"


def readme_train_commands() -> list[str]:
    blocks = re.findall(r"```\n(.*?)```", README.read_text(), flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith("gan train ") and "<" not in command:
                commands.append(command)
    return commands


def plain_overrides(command: str) -> list[str] | None:
    """The overrides of a single run, or None for flags, sweeps and resumes (tested elsewhere)."""
    words = shlex.split(command)[2:]
    if any(w.startswith("-") or w.startswith("resume=") or w.startswith("hydra") for w in words):
        return None
    return words


COMMANDS = [c for c in readme_train_commands() if plain_overrides(c) is not None]


def test_the_readme_shows_training_commands():
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_composes_and_validates(command):
    validate(compose_train(*plain_overrides(command)))


def readme_gan_commands() -> list[str]:
    """Every `gan ...` line of the README's code blocks, as written (comments dropped)."""
    blocks = re.findall(r"```\n(.*?)```", README.read_text(), flags=re.S)
    lines = (line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line.startswith("gan ") and "<" not in line and "|" not in line]


# Commands that answer without training: run as written.
INSTANT = [c for c in readme_gan_commands() if "--help" in c.split() or "--cfg" in c.split()]


@pytest.mark.parametrize("command", INSTANT)
def test_readme_instant_command_runs_as_written(command, tmp_path):
    from tests.helpers import run_gan

    result = run_gan(*shlex.split(command)[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
