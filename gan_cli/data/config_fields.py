"""Reading config values without caring whether cfg is a DictConfig, a dataclass or a namespace."""

from __future__ import annotations

from typing import Any

from gan_cli.errors import UserError

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
