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
brings. `load_plugins` loads them once per process; `load_all` loads the built-in components
first (each kind's package imports its own modules, see `import_modules`).

A schema is a dataclass whose `name` field defaults to the component's name; `ranges` maps its
numeric keys to `Range`s (config checks and `Registry.settings` both read them, so a builder and
`gan train` agree). The facts each kind reads:
- model families: `kinds` (the data kinds accepted, gan_cli.data.kinds), `check(cfg.model)`
  (rules among its own keys), `size(cfg.model, elements) -> (parameters, numbers per example)`;
- data sets: `kind` ("image", "points"), `shape` (a tuple, or `shape(cfg, look)`: look=False must
  not open files), `splits` (train/test splits exist), `check(cfg.data)`;
- losses: `clips` (weight clipping applies), `needs_lipschitz`, `check(cfg.loss)`;
- optimizers: `check(cfg.optim)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import pkgutil
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gan_cli.errors import UserError

PLUGIN_GROUP = "gan_cli.plugins"

# A finite stand-in bound for weights and rates that have no natural maximum.
MAX_FLOAT = 1e6


@dataclass(frozen=True)
class Range:
    """low..high (each end closed unless marked open); null: None is allowed too. Values must be
    finite numbers: nan fails every comparison and inf lies beyond every bound here. For a list
    key (model.g_hidden, optim.betas) the range holds for each element."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    null: bool = False
    note: str = ""
    words: tuple[str, ...] = ()  # values other than numbers that are allowed too (data.channels=auto)

    def admits(self, value: Any) -> bool:
        if value is None:
            return self.null
        if isinstance(value, str):
            return value in self.words
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self, integer: bool) -> str:
        text = (
            f"{'an integer' if integer else 'a number'} {'>' if self.low_open else '>='} {_show(self.low)}"
            f" and {'<' if self.high_open else '<='} {_show(self.high)}"
        )
        if self.note:
            text += f" ({self.note})"
        return text + (", or null" if self.null else "") + "".join(f", or {word}" for word in self.words)


def _show(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def out_of_range(key: str, value: Any, allowed: str) -> UserError:
    return UserError(f"{key}={value!r} is out of range: {allowed}")


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

    def settings(self, cfg: Any, name: Any = None) -> Any:
        """The schema of `cfg.name` (or `name`) filled from cfg: what a builder reads. cfg may be a
        DictConfig, a mapping or any attribute object (a checkpoint's stored config in a namespace);
        absent keys and nulls take the schema's defaults, so older configs keep building. Each value
        is checked against the field's type and the entry's range, in one line naming the key: a
        config from a checkpoint reaches a builder without `gan train`'s checks."""
        entry = self.get(_read(cfg, "name") if name is None else name)
        if entry.schema is None:
            raise ValueError(f"{self.kind} {entry.name!r} has no schema to read settings with")
        values = {}
        hints = typing.get_type_hints(entry.schema)
        for spec in dataclasses.fields(entry.schema):
            default = _default(spec)
            value = _read(cfg, spec.name, None)
            if value is None and default is not None:
                value = default
            key = f"{self.key}.{spec.name}"
            value = _typed(key, value, hints.get(spec.name, Any))
            allowed = entry.ranges.get(spec.name)
            if allowed is not None:
                for item in value if isinstance(value, list) else [value]:
                    if not allowed.admits(item):
                        integer = isinstance(item, int) and not isinstance(item, bool)
                        raise out_of_range(key, value, allowed.describe(integer))
            values[spec.name] = value
        values["name"] = entry.name
        return entry.schema(**values)


def _read(cfg: Any, key: str, default: Any = None) -> Any:
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    try:
        return getattr(cfg, key, default)
    except Exception:  # noqa: BLE001 - OmegaConf's "???" (a required key left unset) raises on access
        return default


def _default(spec: dataclasses.Field) -> Any:
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    if spec.default is dataclasses.MISSING or spec.default == "???":
        return None
    return spec.default


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _typed(key: str, value: Any, hint: Any) -> Any:
    """value as the schema's field type says, or one line naming the key. bool is not an int here
    (`z_dim: true` is a typo), a string is never a boolean (bool("false") is True), and lists come
    as any sequence (OmegaConf hands over ListConfig)."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return _typed(key, value, inner[0]) if len(inner) == 1 else value
    if origin in (list, typing.List):  # noqa: UP006 - schemas use typing.List for OmegaConf
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise UserError(f"{key}={value!r} is invalid: expected a list")
        item_hint = args[0] if args else Any
        return [_typed(key, item, item_hint) for item in value]
    if hint is bool and not isinstance(value, bool):
        raise UserError(f"{key}={value!r} is invalid: expected true or false")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise UserError(f"{key}={value!r} is invalid: expected an integer")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{key}={value!r} is invalid: expected a number")
        return float(value)
    if hint is str and not isinstance(value, str):
        raise UserError(f"{key}={value!r} is invalid: expected a string")
    return value


def import_modules(package: str, helpers: frozenset[str] | set[str]) -> None:
    """Import every module of `package` but its helpers: each registers what it builds, so adding
    a component is adding its file. The modules must not import torch at their top (startup stays
    light); the helpers may."""
    root = importlib.import_module(package)
    for found in pkgutil.iter_modules(root.__path__):
        if not found.ispkg and found.name not in helpers and not found.name.startswith("_"):
            importlib.import_module(f"{package}.{found.name}")


MODELS = Registry("model family", "model")
DATA = Registry("data set", "data")
LOSSES = Registry("loss", "loss")
OPTIMIZERS = Registry("optimizer", "optim")
RECIPES = Registry("recipe", "recipe")
METRICS = Registry("metric", "metrics")
EXTRACTORS = Registry("feature extractor", "features")
LOGGERS = Registry("logger", "logger")
AUGMENTS = Registry("augmentation", "augment")

ALL = {r.key: r for r in (MODELS, DATA, LOSSES, OPTIMIZERS, RECIPES, METRICS, EXTRACTORS, LOGGERS, AUGMENTS)}

# The package modules whose import registers the built-in components of each kind (a kind's
# package imports its own files; see import_modules). Plugins come after them.
BUILT_IN = (
    "gan_cli.models",
    "gan_cli.data",
    "gan_cli.training.losses",
    "gan_cli.training.optim",
    "gan_cli.training.recipes",
    "gan_cli.training.augment",
)

_plugins_loaded = False


def load_all() -> None:
    """Every component there is: the built-in ones, then the plugins'. torch-free."""
    for module in BUILT_IN:
        importlib.import_module(module)
    load_plugins()


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
