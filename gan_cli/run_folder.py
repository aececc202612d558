"""The per-command folders Hydra makes under outputs/: removed when they hold nothing of the user's."""

import contextlib
import shutil
from collections.abc import Collection
from pathlib import Path


def discard_if_unused(run_dir: Path, bookkeeping: Collection[str]) -> None:
    """Remove run_dir when it holds only `bookkeeping` entries (Hydra's .hydra/, the log, ...):
    a refused command, or one told to write elsewhere, leaves no folder behind."""
    if not run_dir.is_dir() or any(p.name not in bookkeeping for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        run_dir.parent.rmdir()  # the date folder, only when empty


def shown(path: Path) -> str:
    """Relative to where the user launched when it lies below it: what they would type."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
