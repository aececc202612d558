"""The shape of one example of a data set, from its config alone (no files read).

`gan sample` rebuilds a generator from a checkpoint's config; the generator's layers depend on
the data shape, and opening the data set (possibly a download) just to learn it would be absurd.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gan_cli.errors import UserError

IMAGE_SETS = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
POINT_SETS = ("ring8", "grid25")
# The folder set's own defaults (gan_cli.data.folder.FolderSettings), for configs that omit them.
FOLDER_DEFAULTS = {"image_size": 64, "channels": 3}


def _field(cfg: Any, name: str, default: Any = None) -> Any:
    if isinstance(cfg, Mapping):
        value = cfg.get(name, default)
    else:
        value = getattr(cfg, name, default)
    return default if value is None else value


def data_shape(cfg: Any) -> tuple[int, ...]:
    """(C, H, W) for image sets, (2,) for the 2D point sets; cfg is a dict or any attribute object."""
    name = _field(cfg, "name")
    if name in IMAGE_SETS:
        return IMAGE_SETS[name]
    if name in POINT_SETS:
        return (2,)
    if name == "folder":
        size = int(_field(cfg, "image_size", FOLDER_DEFAULTS["image_size"]))
        channels = _field(cfg, "channels", FOLDER_DEFAULTS["channels"])
        if channels == "auto":  # only the images tell; checkpoints record the shape they trained
            from types import SimpleNamespace

            from gan_cli.data.folder import resolve_channels

            channels = resolve_channels(SimpleNamespace(**cfg) if isinstance(cfg, Mapping) else cfg)
        channels = int(channels)
        return (channels, size, size)
    known = ", ".join(sorted([*IMAGE_SETS, *POINT_SETS, "folder"]))
    raise UserError(f"unknown data set {name!r}: its sample shape is not known (known: {known})")
