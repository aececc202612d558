"""Run folders: made exclusively, never shared by two runs, and cleaned up only as far as this
process made them.

Hydra names a run's folder by the second it starts (configs/train.yaml, hydra.run.dir), so runs
started together would share one; gan_cli.commands.run_dir_callback creates the folder through `claim`
before Hydra writes into it. What this process created is remembered here (one process runs one
command), so that `discard_if_unused` removes nothing that existed before the command started.
"""

import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from gan_cli.errors import UserError

# What a command leaves in its folder: a folder holding any of these holds another run (or sweep).
RUN_MARKERS = (
    ".hydra", "checkpoints", "samples", "metrics.jsonl", "summary.json", "tb", "train.log", "sample.log",
    "eval.log", "eval.json", "multirun.yaml", "summary.csv",
)  # fmt: skip

MAX_SUFFIX = 1000


def experiment_prefix(choice: object) -> str:
    """`${gan_experiment:...}` in hydra.run.dir: "<experiment>-" when a preset was chosen, so that
    preset runs of one model and data set are told apart; "" keeps the other names as they were.
    The model and the data stay the last two parts of the name (resume.find_latest reads them)."""
    return f"{choice}-" if choice not in (None, "", "null") else ""


def register_resolver() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("gan_experiment"):
        OmegaConf.register_new_resolver("gan_experiment", experiment_prefix)


@dataclass
class _Made:
    """This invocation's folders: those it created (outermost first), and the entries of a folder
    the user named that existed already."""

    created: list[Path] = field(default_factory=list)
    existing: dict[Path, frozenset[str]] = field(default_factory=dict)


_made = _Made()


def _key(path: Path | str) -> Path:
    return Path(os.path.abspath(path))


def forget() -> None:
    """A new command starts (tests run several in one process): nothing of it exists yet."""
    global _made
    _made = _Made()


def holds_a_run(folder: Path) -> bool:
    return any((folder / name).exists() for name in RUN_MARKERS)


def _make_parents(folder: Path) -> None:
    missing = []
    for parent in folder.parents:
        if parent.is_dir():
            break
        missing.append(parent)
    for parent in reversed(missing):
        try:
            os.mkdir(parent)
        except FileExistsError:
            continue  # another process made it a moment ago: it is not ours to remove
        _made.created.append(_key(parent))


def _make_exclusive(folder: Path) -> None:
    _make_parents(folder)
    os.mkdir(folder)  # FileExistsError when another run has it
    _made.created.append(_key(folder))


def claim_fresh(folder: Path) -> Path:
    """Create a time-stamped folder, or the first free `<name>-2`, `<name>-3`, ... beside it:
    mkdir is atomic, so two runs started in the same second never get the same one."""
    for n in range(1, MAX_SUFFIX + 1):
        candidate = folder if n == 1 else folder.with_name(f"{folder.name}-{n}")
        try:
            _make_exclusive(candidate)
        except FileExistsError:
            continue
        return candidate
    raise UserError(f"{folder}: {MAX_SUFFIX} folders of this name exist; name one with hydra.run.dir=")


def claim_named(folder: Path, what: str, may_hold_a_run: bool = False) -> Path:
    """A folder the user named: made when missing, used when it holds nothing of another run
    (an empty folder, `.`); one that holds a run is refused unless this command continues it."""
    if folder.is_dir():
        if holds_a_run(folder) and not may_hold_a_run:
            raise UserError(
                f"{what}={folder} holds another run; a new run needs a folder of its own "
                f"(leave {what} out, or name a new folder; `gan train resume=` continues a run)"
            )
        _made.existing[_key(folder)] = frozenset(p.name for p in folder.iterdir())
        return folder
    if folder.exists():
        raise UserError(f"{what}={folder} is a file, not a folder")
    try:
        _make_exclusive(folder)
    except FileExistsError:
        raise UserError(f"{what}={folder} was made by another process just now; name another") from None
    return folder


def discard_if_unused(run_dir: Path, bookkeeping: Collection[str]) -> None:
    """Undo what this command made in run_dir when all it made there is `bookkeeping` (Hydra's
    .hydra/, the log, ...): a refused command, or one told to write elsewhere, leaves nothing
    behind. A folder that existed before the command started stays, with all it held then."""
    run_dir = _key(run_dir)
    if run_dir in _made.existing:
        new = [p for p in run_dir.iterdir() if p.name not in _made.existing[run_dir]]
        if all(p.name in bookkeeping for p in new):
            for path in new:
                _remove(path)
        return
    if run_dir not in _made.created or not run_dir.is_dir():
        return
    if any(p.name not in bookkeeping for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in run_dir.parents:  # the date folder and outputs/, when this command made them
        if parent not in _made.created:
            break
        try:
            parent.rmdir()
        except OSError:
            break  # another run's folder is in it now


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def shown(path: Path) -> str:
    """Relative to where the user launched when it lies below it: what they would type."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
