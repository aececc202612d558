"""Name -> builder table for data sets, filled by the @register decorator."""

from __future__ import annotations

from collections.abc import Callable

from gan_cli.errors import UserError

_BUILDERS: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    """Record a builder `fn(cfg, device, batch_size) -> Batches` under `name` (the `data.name` value)."""

    def decorator(builder: Callable) -> Callable:
        if name in _BUILDERS:
            # Two modules claiming one name is a bug in this package, not a user mistake.
            raise ValueError(f"data set {name!r} is registered twice")
        _BUILDERS[name] = builder
        return builder

    return decorator


def available() -> list[str]:
    """Registered data set names, sorted, for help texts and error messages."""
    return sorted(_BUILDERS)


def lookup(name: str) -> Callable:
    try:
        return _BUILDERS[name]
    except (KeyError, TypeError):
        valid = ", ".join(available())
        raise UserError(f"unknown data set {name!r}; valid: {valid} (set data=<name>)") from None
