"""The Hydra callback behind every `gan train -m ...` (configs/train.yaml, hydra.callbacks).

Hydra calls on_multirun_start and on_multirun_end once, in the launching process, whatever the
launcher; the jobs themselves may run elsewhere, so the summary is read from the job folders
(gan_cli/outputs/sweep_table.py), never collected from job return values. Importing this module
stays light: Hydra instantiates the callback for single runs too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write

from gan_cli.commands import sweeps
from gan_cli.errors import UserError
from gan_cli.outputs import sweep_table

FAILED_SWEEP_EXIT = 1

# The sweep this process launched whose on_multirun_end has not run yet. Hydra 1.3 calls
# on_multirun_end only after the sweeper returns: a sweeper that raises at the end (Optuna asking
# for the best of zero completed trials) skips it, and the error handler finishes the sweep instead.
_unfinished: DictConfig | None = None


class SweepSummary(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Name job folders by what varies: overrides that every job shares (data=ring8
        trainer.steps=20) are excluded from the names. Each job's config is composed again from the
        sweep's hydra overrides plus the job's own (in a joblib or SLURM worker too), so an override
        appended here reaches every job's hydra.sweep.subdir."""
        global _unfinished
        _unfinished = config
        overrides = config.hydra.overrides
        try:
            parsed = OverridesParser.create().parse_overrides(list(overrides.task))
        except Exception:  # Hydra reports bad overrides itself, right after this hook
            return
        shared = [o.key_or_group for o in parsed if not o.is_sweep_override()]
        excluded = list(config.hydra.job.config.override_dirname.exclude_keys)
        excluded += [key for key in shared if key not in excluded]
        if excluded:
            quoted = ",".join(f"'{key}'" for key in excluded)  # keys such as a/b or a@b need quotes
            with read_write(overrides):
                overrides.hydra.append(f"hydra.job.config.override_dirname.exclude_keys=[{quoted}]")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _unfinished
        _unfinished = None
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep = _show(sweep_dir)
        mismatch = _direction_mismatch(config, sweep)
        if mismatch:
            sys.stderr.write(f"gan: note: {mismatch}\n")
        if sweep.failed:
            diverged = sum(job.status == sweep_table.DIVERGED for job in sweep.failed)
            what = "diverged" if diverged == len(sweep.failed) else "failed"
            if 0 < diverged < len(sweep.failed):
                what += f" ({diverged} diverged)"
            sys.stderr.write(
                f"gan: error: {len(sweep.failed)} of {len(sweep.jobs)} jobs {what}; the table above has "
                f"all of them (`gan sweeps {sweep_dir}` shows it again)\n"
            )
            sys.stderr.flush()
            # Hydra turns a callback's Exception into a warning; SystemExit passes through it and
            # through the sweep's end, which is all that is left to do.
            raise SystemExit(FAILED_SWEEP_EXIT)


def _direction_mismatch(config: DictConfig, sweep: sweep_table.Sweep) -> str | None:
    """A search (Optuna) that optimizes the wrong way round looks like it works: say so."""
    direction = config.hydra.sweeper.get("direction")
    direction = getattr(direction, "name", direction)  # the plugin's default is an Enum
    if sweep.primary is None or not isinstance(direction, str):
        return None  # the basic sweeper has none; a list means several objectives
    wanted = "maximize" if sweep.direction == "max" else "minimize"
    if direction.lower() == wanted:
        return None
    return (
        f"the sweeper's direction is {direction}, but higher {sweep.primary} is "
        f"{'better' if wanted == 'maximize' else 'worse'} (summary.json); "
        f"run it with hydra.sweeper.direction={wanted}"
    )


def _show(sweep_dir: Path) -> sweep_table.Sweep:
    sweep = sweeps.summarize(sweep_dir)
    files = sweep_table.write_files(sweep) if sweep.jobs else ()
    sweep_table.print_summary(sweep, files=files)
    return sweep


def failed_search_error(error: BaseException) -> UserError | None:
    """The user error behind a sweeper that raised after its last trial, when every trial failed
    (Optuna's "No trials are completed yet": offline data, a bad override in every trial). The
    table is printed first, as at the end of any sweep. None: not that case (a bug stays a bug)."""
    global _unfinished
    if _unfinished is None or not isinstance(error, ValueError):
        return None
    sweep_dir = Path(str(_unfinished.hydra.sweep.dir))
    _unfinished = None
    sweep = sweeps.summarize(sweep_dir)
    if not sweep.jobs or len(sweep.failed) < len(sweep.jobs):
        return None
    _show(sweep_dir)
    first = sweep_table._relative(sweep.failed[0].folder / sweep_table.ERROR_FILE, Path.cwd())
    return UserError(
        f"every trial of the search failed (see {sweep_table.ERROR_FILE} in the job folders, e.g. {first})"
    )
