"""Name -> builder registry for model families.

Each family module registers a builder with ``@register("name")``; ``build`` looks the
config's ``name`` up here, so adding a family never touches this file.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gan_cli.errors import UserError

Builder = Callable[[object, tuple[int, ...], int], tuple[nn.Module, nn.Module]]

_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder(cfg, shape, n_classes, pack=1) -> (G, D)`` buildable as ``name``."""

    def add(builder: Builder) -> Builder:
        if name in _BUILDERS:
            # Two families under one name would make configs silently ambiguous.
            raise ValueError(f"model name {name!r} is registered twice")
        _BUILDERS[name] = builder
        return builder

    return add


def available() -> list[str]:
    """Names a config's ``model.name`` may take, sorted."""
    return sorted(_BUILDERS)


def build(cfg, shape, n_classes: int = 0, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    """Build (generator, discriminator) for data of ``shape`` from a model config.

    ``cfg`` only needs attribute access (an OmegaConf DictConfig, a namespace, ...).
    ``n_classes`` is passed through for conditional families; unconditional ones ignore it.
    ``pack`` (trainer.pack, PacGAN): D takes ``pack`` samples at once, so its input has ``pack``
    times the features (vectors) or channels (images); G does not change.
    """
    name = getattr(cfg, "name", None)
    if name not in _BUILDERS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(available())} (e.g. model=mlp)")
    shape = _checked_shape(shape)
    return _BUILDERS[name](cfg, shape, int(n_classes), pack=int(pack))


def _checked_shape(shape) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    if len(dims) not in (1, 3) or any(d <= 0 for d in dims):
        raise UserError(f"data shape {dims} is not supported: models take vectors (D,) or images (C, H, W)")
    return dims
