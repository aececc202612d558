"""The README's commands: `gan train` ones compose and validate as written, and every `gan` line
runs through the real command (with shorter runs, shown below) or is refused offline in one line."""

import re
import shlex
from pathlib import Path

import pytest

from gan_cli.commands.config import validate
from tests.helpers import compose_train

README = Path(__file__).parents[1] / "README.md"


def shell_blocks() -> list[str]:
    """The README's untagged code blocks (commands); ```python / ```toml blocks are code to read."""
    fenced = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    return [body for language, body in fenced if language == ""]


def readme_train_commands() -> list[str]:
    blocks = shell_blocks()
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


# ---- every README command, run ------------------------------------------------------------------
# Each `gan ...` line of the README runs through the real command in one shared workspace. What is
# changed to keep it to seconds is written here, visibly: keys set (or replaced) per command, and
# placeholders (`outputs/<date>/<time>-...`) replaced by a run this test made. Commands that cannot
# run on an offline CPU machine must be refused in one line naming why.

SHORT_TRAIN = {"trainer.steps": "2", "trainer.log_every": "1", "trainer.sample_every": "1",
               "trainer.ckpt_every": "1", "trainer.eval_every": "0", "trainer.progress": "false"}  # fmt: skip
SHORTER = {"train": SHORT_TRAIN, "sample": {"n": "16"}, "eval": {"n": "300"}, "sweeps": {}, "report": {}}
# resume=latest continues the newest run to trainer.steps: a few more than the 2 it has
RESUME_LATEST = {"trainer.steps": "4"}

# (what the line contains, the one-line error expected offline without a GPU and extras)
REFUSED_OFFLINE = [  # the first match counts: a missing plugin is found before the device
    # without the plugin (the setup line's extras), the extra is named; with it, the missing SLURM
    ("hydra/launcher=slurm", r'pip install -e "\.\[slurm\]"|has no sbatch'),
    ("hydra/sweeper=optuna", r'pip install -e "\.\[optuna\]"'),
    ("device=cuda", r"CUDA is not available|cifar10"),
    ("data=mnist", r"download"),
    ("logger=[jsonl,wandb]", r"wandb login.*WANDB_API_KEY.*WANDB_MODE=offline"),  # online W&B, no key here
]
# placeholder run folders of another data set are replaced by this test's run of a similar one
PLACEHOLDER_RUNS = {"ring8": "ring8", "fashion_mnist": "fashion_mnist", "mnist": "fashion_mnist"}
# placeholders naming these presets' (or families') runs stand for such a run (class=, vary=cat0 work)
PRESET_RUNS = ("cgan_pd", "infogan", "vae")
NOT_HERE = {"cifar10": "needs a CIFAR-10 run (no CIFAR-10 files offline) and a GPU"}

FASHION = Path("/usr/share/datasets/fashion-mnist")


def readme_commands() -> list[str]:
    """Every `gan ...` line of the README's code blocks, as written (comments dropped)."""
    blocks = shell_blocks()
    lines = (line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines())
    return list(dict.fromkeys(line for line in lines if line.startswith("gan ")))


def with_keys(words: list[str], keys: dict[str, str]) -> list[str]:
    """words with each key's value replaced where given, appended where not."""
    out, seen = [], set()
    for word in words:
        key = word.split("=", 1)[0]
        if "=" in word and key in keys:
            out.append(f"{key}={keys[key]}")
            seen.add(key)
        else:
            out.append(word)
    return out + [f"{k}={v}" for k, v in keys.items() if k not in seen]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A working folder with a ring8 run, a Fashion-MNIST run (where the data is installed) and a
    small sweep, which the README's placeholders stand for."""
    from tests.helpers import run_gan

    cwd = tmp_path_factory.mktemp("readme")
    runs = {}
    for name, data, *preset in (
        ("ring8", "ring8"),
        ("fashion_mnist", "fashion_mnist"),
        ("cgan_pd", "fashion_mnist", "experiment=cgan_pd"),  # a conditional run: class= works
        ("infogan", "fashion_mnist", "experiment=infogan"),  # latent codes: vary=cat0 works
        ("vae", "fashion_mnist", "model=vae"),  # an autoencoder: reconstruct=true and nll work
    ):
        if data == "fashion_mnist" and not FASHION.is_dir():
            continue
        folder = f"outputs/base/{name}"
        done = run_gan(
            "train", f"data={data}", *preset, *with_keys([], SHORT_TRAIN), f"hydra.run.dir={folder}", cwd=cwd
        )
        assert done.returncode == 0, done.stderr
        runs[name] = folder
    done = run_gan("train", "-m", "data=ring8", "optim.lr=1e-4,2e-4", *with_keys([], SHORT_TRAIN), cwd=cwd)
    assert done.returncode == 0, done.stderr
    (sweep,) = (cwd / "outputs" / "multirun").glob("*/*")
    return cwd, runs, str(sweep.relative_to(cwd))


def runnable(command: str, runs: dict[str, str], sweep: str) -> list[str] | str:
    """The argv to run for a README line, or the reason it cannot run here."""
    for marker, reason in NOT_HERE.items():
        if f"-{marker}" in command:
            return reason
    for placeholder in re.findall(r"outputs/<date>/<time>-[\w-]+", command):
        data = placeholder.rsplit("-", 1)[1]
        preset = next((name for name in PRESET_RUNS if f"-{name}-" in placeholder), None)
        stand_in = preset or PLACEHOLDER_RUNS.get(data)
        if stand_in not in runs:
            return f"no {data} run here ({FASHION} is not installed)"
        command = command.replace(placeholder, runs[stand_in])
    command = command.replace("outputs/multirun/<date>/<time>", sweep)
    words = shlex.split(command)[1:]
    if "--help" in words or "--cfg" in words:
        return words
    if "data=fashion_mnist" in words and "fashion_mnist" not in runs:
        return f"{FASHION} is not installed"
    keys = dict(SHORTER[words[0]])
    if "resume=latest" in words:
        keys = RESUME_LATEST
    return [words[0], *with_keys(words[1:], keys)]


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_runs_or_says_why_in_one_line(command, workspace):
    from tests.helpers import run_gan

    cwd, runs, sweep = workspace
    argv = runnable(command, runs, sweep)
    if isinstance(argv, str):
        pytest.skip(argv)
    result = run_gan(*argv, cwd=cwd)
    assert "Traceback" not in result.stderr, (argv, result.stderr)
    refusal = next((why for marker, why in REFUSED_OFFLINE if marker in command), None)
    if refusal is None:
        assert result.returncode == 0, (argv, result.stderr)
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("gan: error:")]
        assert result.returncode == 2 and len(errors) == 1 and re.search(refusal, errors[0]), (
            argv,
            result.stderr,
        )


def test_the_readme_shows_commands_of_every_kind():
    words = {shlex.split(c)[1] for c in readme_commands()}
    assert {"train", "sample", "eval", "sweeps", "--help"} <= words


# ---- the README's code, run ----------------------------------------------------------------------
def test_the_readme_recipe_trains_through_gan_train(tmp_path):
    """The recipe shown under "A recipe" registers and trains as written."""
    from hydra.core.config_store import ConfigStore

    from gan_cli.commands.train import compose, run
    from gan_cli.registry import RECIPES

    fenced = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    source = next(block for block in fenced if "RECIPES.register" in block)
    name = re.search(r'RECIPES\.register\("(\w+)"', source).group(1)
    store = ConfigStore.instance()
    try:
        exec(compile(source, "README.md", "exec"), {})
        store.store(group="recipe", name=name, node=RECIPES.get(name).schema)  # as for a plugin
        cfg = compose([f"recipe={name}", "data=ring8", "trainer.steps=20", "trainer.log_every=10",
                       "trainer.progress=false", "trainer.eval_every=0"])  # fmt: skip
        summary = run(cfg, tmp_path)
    finally:
        RECIPES.unregister(name)
        store.repo["recipe"].pop(f"{name}.yaml", None)
    assert summary["steps"] == 20 and "loss" in summary
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
