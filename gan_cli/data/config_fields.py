"""Reading config values without caring whether cfg is a DictConfig, a dataclass or a namespace;
the keys every data set's schema has."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, List, Optional  # noqa: UP035 - OmegaConf reads these annotations

from gan_cli.errors import UserError

# OmegaConf's marker for a required key (omegaconf.MISSING), written out so this module stays
# free of OmegaConf: a schema field with it must be set in the YAML file or on the command line.
MISSING = "???"

_REQUIRED = object()


def read_field(cfg: Any, name: str, default: Any = _REQUIRED) -> Any:
    """cfg.<name>, or `default` when the key is absent; a missing required key is a one-line UserError."""
    try:
        value = getattr(cfg, name)
    except AttributeError:
        value = _REQUIRED if default is _REQUIRED else default
    except Exception as error:  # noqa: BLE001 - OmegaConf's "???" and interpolation errors are not AttributeErrors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"data.{name} cannot be read ({reason}); set it, e.g. data.{name}=...") from None
    if value is _REQUIRED or (default is _REQUIRED and value in (None, "")):
        raise UserError(f"data.{name} is required; set it, e.g. data.{name}=...")
    return value


# Data sets are found (or downloaded) under root; the GAN_DATA_DIR variable moves it for every run.
DATA_ROOT_DEFAULT = "${oc.env:GAN_DATA_DIR,data}"


@dataclass
class DataConfig:
    """Keys every data set has; a data set's schema extends it."""

    name: str = MISSING
    root: str = (
        DATA_ROOT_DEFAULT  # the data sets' folder (torchvision layout under it); GAN_DATA_DIR overrides
    )
    download: bool = False  # fetch the files when they are missing


@dataclass
class ImageDataConfig(DataConfig):
    """Keys every image data set has besides DataConfig's: which of its images a run uses
    (gan_cli/data/subsets.py: labels renumbered in the order of data.classes; data.limit after a
    shuffle seeded by data.subset_seed, on training images only)."""

    classes: Optional[List[int]] = None  # keep these classes; null: all  # noqa: UP006, UP045
    limit: Optional[int] = None  # keep this many images after a seeded shuffle; null: all  # noqa: UP045
    subset_seed: int = 0  # the shuffle data.limit draws from


# Ranges of the subset keys (a list's range holds for each element), for each image set's registration.
SUBSET_RANGES_SPEC = {"classes": (0, 99_999), "limit": (1, 10**9), "subset_seed": (0, 2**32 - 1)}


def subset_ranges() -> dict[str, Any]:
    from gan_cli.registry import Range

    low, high = SUBSET_RANGES_SPEC["classes"]
    return {
        "classes": Range(low, high, null=True, note="null: every class"),
        "limit": Range(*SUBSET_RANGES_SPEC["limit"], null=True, note="null: every image"),
        "subset_seed": Range(*SUBSET_RANGES_SPEC["subset_seed"]),
    }


# The subset keys set to "everything": what the evaluation classifier trains on (the full set).
FULL_SET = {"classes": None, "limit": None}


def schema_default(schema: type, key: str) -> Any:
    """The default a schema gives `key`, for builders reading a config that may lack it."""
    spec = schema.__dataclass_fields__[key]
    return spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
