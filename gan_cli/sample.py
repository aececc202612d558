"""`gan sample`: images (or 2D points) from a checkpoint, into the run folder or out=.

Thin on purpose: the work is gan_cli.sampling.run, which tests call without Hydra. torch is
imported there, after the config has been checked, so `gan sample --help` answers fast.
"""

import contextlib
import shutil
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from gan_cli.config import register_schemas, validate_sample
from gan_cli.errors import UserError
from gan_cli.errors_report import exit_on_user_error

register_schemas()

# What Hydra puts into a job's folder by itself: the folder holds nothing of the user's while
# these are all there is.
HYDRA_BOOKKEEPING = {".hydra", "sample.log"}


def _discard_if_unused(run_dir: Path) -> None:
    """A refused run, or one told to write elsewhere with out=, leaves no run folder behind."""
    if not run_dir.is_dir() or any(p.name not in HYDRA_BOOKKEEPING for p in run_dir.iterdir()):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        run_dir.parent.rmdir()  # the date folder, only when empty


def _shown(path: Path) -> str:
    """Relative to where the user launched when it lies below it: what they would type."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.configs", config_name="sample")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate_sample(cfg)
        from gan_cli import sampling

        paths = sampling.run(cfg, run_dir)
    except UserError:
        _discard_if_unused(run_dir)
        raise
    if cfg.out is not None:
        _discard_if_unused(run_dir)
    for path in paths:
        print(f"wrote {_shown(path)}{'/' if path.is_dir() else ''}")
