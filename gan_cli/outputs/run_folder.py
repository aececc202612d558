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


# ---- one folder for every rank of a launch ------------------------------------------------------
# Under torchrun every rank runs the command and its own ${now:...}, so each would name (and claim)
# a folder of its own. Rank 0 claims one as above and publishes it in a small file keyed by the
# launch; the other ranks wait for that file and use the folder without claiming it.
RANKS_FOLDER = ".ranks"
RANK_WAIT_ENV = "GAN_RANK_WAIT_S"
RANK_WAIT_S = 120.0  # rank 0 composes its config and claims in about a second; a slow disk, more
_POLL_S = 0.05


def rank_root(configured: str) -> Path:
    """Where a launch's rank file goes: the part of the configured (unresolved) folder name that
    every rank computes alike, `outputs` for outputs/${now:%Y-%m-%d}/...; the folder's parent for a
    name without ${...} (hydra.run.dir=runs/a: runs)."""
    parts = Path(os.path.expanduser(configured)).parts
    first_made_up = next((i for i, part in enumerate(parts) if "${" in part), len(parts) - 1)
    static = parts[:first_made_up]
    return Path(*static) if static else Path(".")


def rank_file(root: Path, launch: str) -> Path:
    return Path(root) / RANKS_FOLDER / launch


def publish(root: Path, launch: str, folder: Path | None, error: str = "") -> Path:
    """Rank 0: the folder it claimed (or the one-line error that stopped it), for the other ranks.
    Written whole or not at all, so a waiting rank never reads half a name."""
    import json

    from gan_cli.outputs import atomic

    path = rank_file(root, launch)
    path.parent.mkdir(parents=True, exist_ok=True)
    # absolute: a rank started in another working directory still finds the same folder
    text = json.dumps({"run_dir": os.path.abspath(folder) if folder is not None else None, "error": error})
    atomic.write_text(path, text + "\n")
    return path


def wait_for_main(root: Path, launch: str, rank: int, timeout_s: float | None = None) -> Path:
    """Another rank: the folder rank 0 published, once it is there. Rank 0's own failure ends this
    rank too, in one line; so does a wait past GAN_RANK_WAIT_S seconds (default 120)."""
    import json
    import time

    if timeout_s is None:
        timeout_s = _wait_limit()
    path = rank_file(root, launch)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            published = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            published = None
        if isinstance(published, dict):
            if published.get("error"):
                raise UserError(f"rank {rank}: rank 0 could not make the run folder: {published['error']}")
            if published.get("run_dir"):
                return Path(published["run_dir"])
        if time.monotonic() >= deadline:
            raise UserError(
                f"rank {rank} waited {timeout_s:g} s for rank 0 to name the run folder in {path}; "
                f"is rank 0 of this launch running? ({RANK_WAIT_ENV}=<seconds> waits longer)"
            )
        time.sleep(_POLL_S)


def _wait_limit() -> float:
    text = os.environ.get(RANK_WAIT_ENV, "")
    if not text:
        return RANK_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UserError(f"{RANK_WAIT_ENV}={text!r} is not a positive number of seconds")
    return value
