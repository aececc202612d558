"""`gan sample`: images (or 2D points) from a checkpoint, into the run folder or out=.

Thin on purpose: the work is gan_cli.sampling.run, which tests call without Hydra. torch is
imported there, after the config has been checked, so `gan sample --help` answers fast.
"""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from gan_cli.commands.config import register_schemas, validate_sample
from gan_cli.commands.errors_report import exit_on_user_error
from gan_cli.errors import UserError
from gan_cli.outputs.run_folder import discard_if_unused, shown

register_schemas()

# What Hydra puts into a job's folder by itself: the folder holds nothing of the user's while
# these are all there is.
HYDRA_BOOKKEEPING = {".hydra", "sample.log"}


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.configs", config_name="sample")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate_sample(cfg)
        from gan_cli import sampling

        paths = sampling.run(cfg, run_dir)
    except UserError:
        discard_if_unused(run_dir, HYDRA_BOOKKEEPING)
        raise
    if cfg.out is not None:
        discard_if_unused(run_dir, HYDRA_BOOKKEEPING)
    for path in paths:
        print(f"wrote {shown(path)}{'/' if path.is_dir() else ''}")
