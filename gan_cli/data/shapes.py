"""The shape of one example of a data set, from its config alone (no files read).

`gan sample` rebuilds a generator from a checkpoint's config; the generator's layers depend on
the data shape, and opening the data set (possibly a download) just to learn it would be absurd.
Each data set's registration (gan_cli.registry.DATA) states its shape: a tuple, or a function of
its config (an image folder's size and channels).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import gan_cli.data  # noqa: F401  (importing the package registers the data sets)
from gan_cli.registry import DATA


def _field(cfg: Any, name: str, default: Any = None) -> Any:
    if isinstance(cfg, Mapping):
        value = cfg.get(name, default)
    else:
        value = getattr(cfg, name, default)
    return default if value is None else value


def data_shape(cfg: Any, look: bool = True) -> tuple[int, ...]:
    """(C, H, W) for image sets, (2,) for the 2D point sets; cfg is a dict or any attribute object.
    look=False never opens files: where the config leaves it to the files (data.channels=auto),
    the largest shape the config allows."""
    shape = DATA.get(_field(cfg, "name")).shape
    if not callable(shape):
        return tuple(shape)
    return tuple(shape(SimpleNamespace(**cfg) if isinstance(cfg, Mapping) else cfg, look))
