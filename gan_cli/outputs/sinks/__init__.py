"""The sinks a run reports to, one module each, registered in gan_cli.registry.LOGGERS.

A new tracker (W&B, MLflow, ...) is one module here that registers a builder
(`@LOGGERS.register("wandb", schema=..., summary=...)`, builder(run: RunInfo, **settings) -> Sink)
and one configs/logger/<name>.yaml holding `<name>: {settings}`; `load` finds every module of this
package, so no list of sinks is written anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil

_loaded = False


def load() -> None:
    """Import every sink module once, which registers it."""
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True
