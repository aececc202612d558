"""The Hydra callback that gives every command a folder of its own (configs/*.yaml, hydra.callbacks).

Hydra 1.3 calls on_run_start (and on_multirun_start) with the very config object that run_job
and the launchers then read hydra.run.dir (hydra.sweep.dir) from, before anything makes or writes
that folder. So the folder is created here, exclusively, and its concrete name written back: two
runs started in the same second get two folders, and a run refused here has written nothing.

Hydra turns an exception raised in a callback into a warning and carries on, which would run the
command in a shared folder; errors are therefore reported here and end the process.

Under torchrun (or submitit) every rank runs the command through Hydra, and `${now:...}` may differ
between them: rank 0 claims the folder and publishes it (run_folder.publish); every other rank
waits for it, uses it without claiming, and writes nothing of Hydra's there (no .hydra/, no log
file: only rank 0 writes files).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from gan_cli import distributed
from gan_cli.commands import errors_report, paths
from gan_cli.commands.launch import LAUNCHED_ENV
from gan_cli.errors import UserError
from gan_cli.outputs import run_folder


def _claim(config: DictConfig, key: str, may_hold_a_run: bool) -> Path:
    """This launch's folder: claimed here on rank 0 (the only rank of a plain run), published for
    the other ranks, which take it from rank 0."""
    context = distributed.current()
    if not context.is_distributed:
        return _claim_here(config, key, may_hold_a_run)
    launched = os.environ.get(LAUNCHED_ENV)
    if launched:  # `gan train trainer.devices=N` claimed it before starting the ranks: nothing to publish
        folder = Path(launched)
        _set(config, key, folder)
        return folder
    root = run_folder.rank_root(_configured(config, key))
    launch = distributed.launch_key()
    if not context.is_main:
        folder = run_folder.wait_for_main(root, launch, context.rank)
        _set(config, key, folder)
        return folder
    try:
        folder = _claim_here(config, key, may_hold_a_run)
    except Exception as error:  # the other ranks stop at once with rank 0's reason, not after a wait
        run_folder.publish(root, launch, None, errors_report.one_line(error))
        raise
    run_folder.publish(root, launch, folder)
    return folder


def _claim_here(config: DictConfig, key: str, may_hold_a_run: bool) -> Path:
    node, leaf = key.rsplit(".", 1)
    HydraConfig.instance().set_config(config)  # for ${hydra:...} in the folder's name, as run_job does
    folder = Path(os.path.expanduser(str(OmegaConf.select(config, key))))
    # A name with ${...} in it (${now:...} by default) is made up: a taken one gets a suffix.
    if OmegaConf.is_interpolation(OmegaConf.select(config, node), leaf):
        folder = run_folder.claim_fresh(folder)
    else:
        folder = run_folder.claim_named(folder, key, may_hold_a_run)
    _set(config, key, folder)
    return folder


def _configured(config: DictConfig, key: str) -> str:
    """The folder's name as configured, ${...} unresolved: what every rank of a launch shares."""
    node, leaf = key.rsplit(".", 1)
    return str(OmegaConf.to_container(OmegaConf.select(config, node), resolve=False)[leaf])


def _set(config: DictConfig, key: str, folder: Path) -> None:
    readonly = config.hydra._get_node_flag("readonly")
    OmegaConf.set_readonly(config.hydra, False)
    OmegaConf.update(config, key, str(folder).replace("${", "\\${"))  # the name made, never resolved again
    OmegaConf.set_readonly(config.hydra, readonly)  # as Hydra left it (set_config made it read-only)


def _write_nothing(config: DictConfig) -> None:
    """A rank other than 0 in rank 0's folder: no .hydra/ (rank 0 writes it) and no log file handler
    (a second writer of train.log would interleave its lines); its warnings still reach stderr."""
    readonly = config.hydra._get_node_flag("readonly")
    OmegaConf.set_readonly(config.hydra, False)
    with open_dict(config.hydra):
        config.hydra.output_subdir = None
        logging_cfg = config.hydra.get("job_logging")
        handlers = logging_cfg.get("handlers") if logging_cfg is not None else None
        if handlers:
            files = [name for name, spec in handlers.items() if "FileHandler" in str(spec.get("class", ""))]
            for name in files:
                del handlers[name]
            for owner in [logging_cfg.get("root"), *(logging_cfg.get("loggers") or {}).values()]:
                if owner is not None and owner.get("handlers"):
                    owner.handlers = [name for name in owner.handlers if name not in files]
    OmegaConf.set_readonly(config.hydra, readonly)


def _check_scheduler(config: DictConfig) -> None:
    """A SLURM launcher off a SLURM machine: one line before a sweep folder is made (submitit's own
    error comes as a traceback once the first job is submitted)."""
    import shutil

    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "")
    if target.endswith("SlurmLauncher") and shutil.which("sbatch") is None:
        choice = OmegaConf.select(config, "hydra.runtime.choices", default={}).get("hydra/launcher", "slurm")
        raise UserError(
            f"hydra/launcher={choice} submits the jobs to SLURM, but this machine has no sbatch: run it "
            "where SLURM is (a login node); hydra/launcher=submitit_local runs the same jobs here"
        )


def _reported(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:
        user = errors_report.is_user_error(error)
        if user and not errors_report._debug():
            errors_report.report_and_exit(error)
        traceback.print_exc()  # GAN_DEBUG=1, or a bug
        if not user:
            sys.stderr.write("gan: this is a bug in gan_cli; please report it with the traceback above\n")
        raise SystemExit(errors_report.USER_ERROR_EXIT if user else 1) from None


class RunFolder(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        def claim() -> None:
            run_folder.forget()
            # `gan train resume=` names the folder of the run it continues (gan_cli/commands/resume.py)
            # a worker of `gan train trainer.devices=N` trains in the folder its launcher claimed
            launched = bool(os.environ.get(LAUNCHED_ENV))
            _claim(config, "hydra.run.dir", may_hold_a_run=bool(config.get("resume")) or launched)
            if not distributed.current().is_main:
                _write_nothing(config)

        _reported(claim)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        def claim() -> None:
            _check_scheduler(config)
            run_folder.forget()
            folder = _claim(config, "hydra.sweep.dir", may_hold_a_run=False)
            # Each job composes its config again from the sweep's hydra overrides (in a joblib or
            # SLURM worker too): this one gives every job the folder claimed here.
            overrides = config.hydra.overrides
            with read_write(overrides):
                kept = [o for o in overrides.hydra if paths.key_of(o) != "hydra.sweep.dir"]
                overrides.hydra = [*kept, paths.override("hydra.sweep.dir", folder)]

        _reported(claim)
