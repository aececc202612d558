"""`gan sweeps FOLDER`, and what a sweep needs from Hydra: the job folders' names, the keys the
command line swept, a job's objective for the sweeper and its error.txt.

The table itself (reading job folders, ranking, the console table, summary.csv and summary.md)
needs no Hydra and lives in gan_cli/outputs/sweep_table.py; its names are re-exported here for
the callers of this module (the sweep callback, `gan train`). Nothing here imports torch: the
table answers in well under a second.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from gan_cli.outputs import sweep_table
from gan_cli.outputs.sweep_table import (  # noqa: F401 -- re-exported for the commands and tests
    DIVERGED,
    DIVERGED_ERROR,
    ERROR_FILE,
    FAILED,
    SUMMARY_CSV,
    SUMMARY_MD,
    Sweep,
    _finite,
    _read_yaml,
    _relative,
    is_sweep,
    job_folders,
    print_summary,
    rank_value,
    read_job,
    readable,
    short_keys,
    split_override,
    write_files,
)

MAX_DIRNAME = 100


# ---- job folder names ---------------------------------------------------------------------------
def _short_value(value: str) -> str:
    """Filesystem- and shell-safe: [32,64] -> 32_64, a/b -> a_b, long floats to 4 digits."""
    value = re.sub(r"[^A-Za-z0-9.+-]+", "_", readable(value)).strip("_")
    return value or "_"


def job_dirname(num: Any, overrides: Any, exclude_keys: Any = ()) -> str:
    """`<num>-<key>=<value>,...`, e.g. 0-lr=0.0001,model=mlp: the job's overrides minus the excluded
    keys (the sweep callback excludes the ones every job shares), short keys, sorted."""
    exclude = {str(key) for key in exclude_keys or ()}
    pairs = [split_override(str(line)) for line in overrides or ()]
    pairs = [(key, value) for key, value in pairs if key not in exclude]
    names = short_keys([key for key, _ in pairs])
    items = sorted(
        f"{_short_value(names[key])}={_short_value(value)}" if value is not None else _short_value(key)
        for key, value in pairs
    )
    name = f"{num}-{','.join(items)}" if items else str(num)
    return name[:MAX_DIRNAME]  # the job number in front keeps a cut name unique


def register_resolver() -> None:
    """`${gan_job_dirname:...}` for hydra.sweep.subdir in configs/train.yaml."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("gan_job_dirname"):
        OmegaConf.register_new_resolver("gan_job_dirname", job_dirname)


# ---- what a job does for its sweep --------------------------------------------------------------
def available_cores() -> int:
    try:
        from joblib import cpu_count  # what joblib itself counts for n_jobs=-1 (cgroup quotas too)

        return int(cpu_count())
    except ImportError:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_job(n_jobs: int, cores: int) -> int:
    """torch threads for each of n_jobs parallel jobs (joblib's n_jobs; -1 = all cores, -2 = all but
    one), so that jobs x threads does not exceed the cores: oversubscribed cores slow every job down."""
    workers = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
    return max(1, cores // max(1, workers))


def local_parallel_jobs(launcher_cfg: Any) -> int | None:
    """n_jobs when the launcher runs jobs in parallel on this machine (joblib), else None."""
    if launcher_cfg is None or "joblib" not in str(launcher_cfg.get("_target_", "")).lower():
        return None
    return int(launcher_cfg.get("n_jobs", -1))


def objective(summary: dict[str, Any]) -> float | None:
    """What `gan train` returns to Hydra's sweeper (Optuna optimizes it): the rank value, or the final
    D loss while no primary metric is recorded."""
    value = rank_value(summary)
    if value is None:
        value = _finite(summary.get("d_loss"))
    return value


def record_failure(run_dir: Path, error: BaseException, with_traceback: bool) -> tuple[str, str]:
    """Write error.txt into the job folder: "<ExceptionType>: <one line>", then the traceback when
    asked (a bug). Returns the job's status (failed or diverged) and the one-line message."""
    from gan_cli.commands.errors_report import one_line

    message = one_line(error)
    # by name: gan_cli.training.trainer imports torch, and an error raised before training needs no torch
    diverged = any(cls.__name__ == DIVERGED_ERROR for cls in type(error).__mro__)
    text = f"{DIVERGED_ERROR if diverged else type(error).__name__}: {message}\n"
    if with_traceback:
        text += "\n" + "".join(traceback.format_exception(error))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_FILE).write_text(text, encoding="utf-8")
    return (DIVERGED if diverged else FAILED), message


# ---- the table of a sweep folder -------------------------------------------------------------
def _swept_in_command(sweep_dir: Path) -> set[str]:
    """Keys given sweep syntax on the command line (multirun.yaml): a column even while only some
    jobs have started, or when every job so far happened to get the same value."""
    saved = _read_yaml(sweep_dir / "multirun.yaml")
    try:
        task = [str(line) for line in saved["hydra"]["overrides"]["task"]]
    except (TypeError, KeyError):
        return set()
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(task)
    except Exception:  # a hand-edited multirun.yaml: fall back to what varies
        return set()
    return {override.key_or_group for override in parsed if override.is_sweep_override()}


def summarize(sweep_dir: Path) -> Sweep:
    """The sweep's table (gan_cli/outputs/sweep_table.py), with the keys its command line swept."""
    return sweep_table.summarize(sweep_dir, _swept_in_command(Path(sweep_dir)))


# ---- `gan sweeps FOLDER` ------------------------------------------------------------------------
def _not_a_sweep(folder: Path) -> str:
    try:
        return _why_not_a_sweep(folder)
    except (OSError, ValueError) as error:
        return f"{folder} cannot be read as a sweep folder ({getattr(error, 'strerror', None) or error})"


def _why_not_a_sweep(folder: Path) -> str:
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a sweep folder"
    if (folder / ".hydra").is_dir():
        return f"{folder} is the folder of a single run, not a sweep (sweeps are under outputs/multirun/)"
    markers = [m for depth in ("*/", "*/*/", "*/*/*/") for m in folder.glob(depth + "multirun.yaml")]
    markers += [m for depth in ("*/", "*/*/", "*/*/*/") for m in folder.glob(depth + SUMMARY_CSV)]
    inner = sorted({m.parent for m in markers})
    if inner:
        return f"{folder} is not a sweep folder; it holds {len(inner)} sweep(s), the newest {inner[-1]}"
    runs = job_folders(folder)
    if runs:
        return (
            f"{folder} holds {len(runs)} single run folder(s), not a sweep (a sweep is the folder of one "
            "`gan train -m ...`, under outputs/multirun/<date>/<time>)"
        )
    return (
        f"{folder} is not a sweep folder: no job folders (with .hydra/) in it; "
        "sweeps are under outputs/multirun/<date>/<time>"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="gan sweeps",
        description="The table of a sweep's jobs (`gan train -m ...`), rebuilt from its job folders: "
        "overrides, status, steps, time, speed, losses, metrics and the checkpoint to pick. "
        "Works on a sweep that is still running or was interrupted.",
    )
    parser.add_argument("folder", type=Path, help="the sweep folder, e.g. outputs/multirun/<date>/<time>")
    parser.add_argument(
        "--no-write", action="store_true", help=f"only print; do not refresh {SUMMARY_CSV} and {SUMMARY_MD}"
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder
    if not is_sweep(folder):
        sys.stderr.write(f"gan: error: {_not_a_sweep(folder)}\n")
        raise SystemExit(2)
    sweep = summarize(folder)
    files: tuple[Path, ...] = ()
    if sweep.jobs and not args.no_write:
        try:
            files = write_files(sweep)
        except OSError as error:  # a read-only copy of a sweep can still be shown
            sys.stderr.write(f"gan: note: {SUMMARY_CSV} / {SUMMARY_MD} not written: {error}\n")
    print_summary(sweep, files=files)
