"""One registry per kind of component: name -> (builder, config schema, facts), filled where the
builder lives.

A component registers itself with a decorator in its own module::

    @MODELS.register("mlp", schema=MLPConfig, summary="fully connected G and D", kinds=("image", "points"))
    def build(cfg, shape, n_classes, pack=1): ...

Help texts, the lists in error messages, Hydra's ConfigStore entries and the range checks read the
registries, so no list of names is written anywhere else. Nothing here imports torch or Hydra: a
module that registers keeps torch inside its builders, so `gan --help` and config errors stay fast.

Code outside the package registers through the entry-point group ``gan_cli.plugins``: each entry
point names a module (or a callable) that, once imported (or called), has registered what it
brings. `load_plugins` loads them once per process.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gan_cli.errors import UserError

PLUGIN_GROUP = "gan_cli.plugins"


@dataclass(frozen=True)
class Entry:
    """One registered component. `schema`: a dataclass of its config keys, types and defaults (the
    one place they are written). `ranges`: key -> gan_cli ranges object for its numeric keys.
    `facts`: what else the kind needs to know (a model family's data kinds, a metric's keys, ...)."""

    name: str
    builder: Any
    schema: type | None = None
    summary: str = ""
    ranges: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""  # the module that registered it

    def __getattr__(self, name: str) -> Any:
        facts = object.__getattribute__(self, "facts")
        if name in facts:
            return facts[name]
        raise AttributeError(name)


class Registry:
    """The components of one kind. `key` is the config key that picks one (`model=` picks
    `model.name`), used in error messages."""

    def __init__(self, kind: str, key: str):
        self.kind, self.key = kind, key
        self._entries: dict[str, Entry] = {}

    def register(
        self,
        name: str,
        *,
        schema: type | None = None,
        summary: str = "",
        ranges: Mapping[str, Any] | None = None,
        **facts: Any,
    ) -> Callable[[Any], Any]:
        """Decorator: record the decorated builder (a function or a class) under `name`."""

        def add(builder: Any) -> Any:
            self.add(name, builder, schema=schema, summary=summary, ranges=ranges, **facts)
            return builder

        return add

    def add(
        self,
        name: str,
        builder: Any,
        *,
        schema: type | None = None,
        summary: str = "",
        ranges: Mapping[str, Any] | None = None,
        **facts: Any,
    ) -> Entry:
        if name in self._entries:
            # two components under one name would make configs silently ambiguous: a bug, not a user error
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        origin = getattr(builder, "__module__", "") or ""
        entry = Entry(name, builder, schema, summary, dict(ranges or {}), dict(facts), origin)
        self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: Any) -> Entry:
        """The entry, or one line naming the valid choices (and the closest one to a typo)."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            pass
        valid = self.names()
        close = difflib.get_close_matches(str(name), valid, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(
            f"unknown {self.kind} {name!r}{hint}; valid: {', '.join(valid)} (set {self.key}=<name>)"
        )

    def build(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        return self.get(name).builder(*args, **kwargs)

    def unregister(self, name: str) -> None:
        """For tests that register a component for a while."""
        self._entries.pop(name, None)


MODELS = Registry("model family", "model")
DATA = Registry("data set", "data")
LOSSES = Registry("loss", "loss")
OPTIMIZERS = Registry("optimizer", "optim")
RECIPES = Registry("recipe", "recipe")
METRICS = Registry("metric", "metrics")
EXTRACTORS = Registry("feature extractor", "features")
LOGGERS = Registry("logger", "logger")

ALL = {r.key: r for r in (MODELS, DATA, LOSSES, OPTIMIZERS, RECIPES, METRICS, EXTRACTORS, LOGGERS)}

_plugins_loaded = False


def load_plugins() -> None:
    """Import every `gan_cli.plugins` entry point once. A plugin that fails to load is one line
    naming it (the user installed it; its traceback is not ours to show)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=PLUGIN_GROUP):
        try:
            loaded = point.load()
            if callable(loaded):
                loaded()
        except Exception as error:  # noqa: BLE001 -- any failure of third-party code is reported the same way
            raise UserError(
                f"the gan_cli plugin {point.name!r} ({point.value}) failed to load: "
                f"{type(error).__name__}: {error}"
            ) from None
