"""What the experiment trackers (wandb.py, mlflow.py) share: the run's whole config, flattened;
the sweep a job belongs to; the one-line error for a tracker that is not installed; a grid as
the uint8 picture trackers store. Registers nothing."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError

# Hydra writes the job's composed config here before the job runs (gan report reads it too).
CONFIG_FILE = Path(".hydra") / "config.yaml"
# ... and this file at the top of a sweep's folder, beside the job folders.
SWEEP_MARKER = "multirun.yaml"


def require(module: str, logger: str, extra: str) -> Any:
    """The tracker's package, or one line naming the extra that installs it (before any work)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        install = f'pip install -e ".[{extra}]" (or pip install {extra})'
        raise UserError(f"logger={logger} needs the {module} package: {install}") from None


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"name": "mlp"}} -> {"model.name": "mlp"}; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's composed config, resolved where it can be, flattened; {} when Hydra wrote none
    (a run built by a test or a script)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    loaded = OmegaConf.load(path)
    try:
        tree = OmegaConf.to_container(loaded, resolve=True)
    except Exception:  # noqa: BLE001 -- a resolver only Hydra knows: the values as written
        tree = OmegaConf.to_container(loaded, resolve=False)
    return flatten(tree) if isinstance(tree, Mapping) else {}


def sweep_of(run_dir: Path) -> Path | None:
    """The sweep folder a job's run folder sits in, None for a single run."""
    parent = Path(run_dir).resolve().parent
    return parent if (parent / SWEEP_MARKER).is_file() else None


def sweep_name(run_dir: Path) -> str | None:
    """A sweep's name for grouping its jobs: its folder's last two parts (<date>/<time>)."""
    sweep = sweep_of(run_dir)
    return None if sweep is None else f"{sweep.parent.name}/{sweep.name}"


def picture(image: Any) -> Any:
    """A (C, H, W) tensor in [0, 1] as an (H, W, C) uint8 array (C 1 or 3)."""
    from gan_cli.outputs.images import unit_to_uint8

    return unit_to_uint8(image.detach().cpu()).permute(1, 2, 0).numpy()
