"""`gan train trainer.devices=N`: the same run in N processes, started by torch's own elastic
launcher (torch.distributed.run, what `torchrun` is), so nothing here manages processes itself.

The process that reads trainer.devices has already claimed the run folder; it starts N workers
with the same overrides and that folder (hydra.run.dir), waits, and turns the launcher's outcome
into one line: a stop by signal exits 128 + the signal like a one-process run, a worker that died
names its rank. A plain `torchrun --nproc_per_node=N -m gan_cli train ...` skips all of this: its
workers find RANK and WORLD_SIZE set and train.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import uuid
from pathlib import Path

# Set in the workers this module starts: their folder is the one the launching process claimed
# (gan_cli/commands/run_dir_callback.py accepts it although it holds that process's .hydra/).
LAUNCHED_ENV = "GAN_LAUNCHED_RUN_DIR"
# How long the launcher waits for the workers to save and exit after a signal before it kills them.
SHUTDOWN_WAIT_S = 60


class ProcessesFailed(Exception):
    """A worker of a `trainer.devices=N` run ended with an error; the others were stopped."""


def launched_here(folder: Path) -> bool:
    """Whether this process is a worker that `gan train trainer.devices=N` started in `folder`."""
    claimed = os.environ.get(LAUNCHED_ENV)
    return bool(claimed) and os.path.abspath(claimed) == os.path.abspath(folder)


def worker_arguments(overrides: list[str], run_dir: Path) -> list[str]:
    """The workers' command line: the run's overrides in the launching process's folder."""
    from gan_cli.commands import paths

    kept = [o for o in overrides if paths.key_of(o) != "hydra.run.dir"]
    return ["-m", "gan_cli", "train", *kept, paths.override("hydra.run.dir", Path(run_dir).resolve())]


def threads_per_worker(devices: int, cores: int) -> int:
    """CPU threads each worker may use: the cores shared out (at least one), so N processes on a
    CPU do not oversubscribe it."""
    return max(1, cores // devices)


def run_processes(devices: int, run_dir: Path, overrides: list[str]) -> None:
    """Start `devices` workers of this run and wait for them. Raises SystemExit(128 + signal) when
    a signal stopped the run, ProcessesFailed (one line) when a worker failed."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from gan_cli.commands import sweeps

    # the agent's own lines ("Received 15 death signal, shutting down workers"): this module says it
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ[LAUNCHED_ENV] = str(Path(run_dir).resolve())
    os.environ.setdefault("OMP_NUM_THREADS", str(threads_per_worker(devices, sweeps.available_cores())))
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=devices,
        run_id=f"gan-{uuid.uuid4().hex[:12]}",
        # torchrun --standalone: a rendezvous on this machine, on a port the system picks free
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.2,
        start_method="spawn",
        shutdown_timeout=SHUTDOWN_WAIT_S,
    )
    try:
        elastic_launch(config, sys.executable)(*worker_arguments(overrides, run_dir))
    except SignalException as stop:
        raise SystemExit(128 + int(stop.sigval)) from None
    except ChildFailedError as failed:
        stopped = stopped_together(failed.failures)
        if stopped:  # a signal to one rank: they all stopped after the same step, and rank 0 said so
            raise SystemExit(stopped) from None
        raise ProcessesFailed(describe_failure(failed.failures, devices)) from None
    finally:
        os.environ.pop(LAUNCHED_ENV, None)


# How a rank that stopped on Ctrl-C or SIGTERM exits (gan train's TrainingStopped: 128 + signal)
STOPPED_EXITS = (128 + signal.SIGINT, 128 + signal.SIGTERM)


def stopped_together(failures: dict) -> int:
    """The exit code of a run whose ranks stopped together after a signal (rank 0's: the others
    end with 0 once it has written last.pt), or 0 when that is not what happened."""
    # rank 0 leaves after last.pt is written (every rank waits for it): a stop exit of rank 0 is a
    # clean stop of the run, whatever the launcher did to the ranks still closing down
    main = failures.get(0)
    return main.exitcode if main is not None and main.exitcode in STOPPED_EXITS else 0


def describe_failure(failures: dict, devices: int) -> str:
    """One line for the workers that failed: the first one (by time) named, with how it ended."""
    first_rank, first = min(failures.items(), key=lambda item: item[1].timestamp)
    return (
        f"rank {first_rank} of {devices} {_ending(first.exitcode)}; the other ranks were stopped "
        "(its own message, if any, is above; checkpoints/last.pt, if written, holds the last saved step)"
    )


def _ending(exitcode: int) -> str:
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"
