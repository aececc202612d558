"""The metrics `gan eval` (and evaluation during training) can compute, registered in
gan_cli.registry.METRICS. The math lives in gan_cli.metrics; here each metric says

- its name (what metrics= lists),
- its result keys and which way each gets better ("min" or "max": best.pt and sweeps rank by it),
- what it needs: "features" of both sets, "probs" (class probabilities of the generated set),
  "classes" (probabilities over the data set's own classes: the classifier extractor), or
  "samples" (the generated samples themselves and the real source, for kinds that are not
  compared through features),
- the data kinds it applies to (gan_cli.data.kinds),
- which of its results count things (shown without decimals),
- its compute function: Context -> {result key: value}.

A new metric is one decorated function here. Nothing in this module imports torch (the compute
functions do): the config check reads the registry before torch loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError
from gan_cli.registry import METRICS as REGISTRY

if TYPE_CHECKING:
    from torch import Tensor

    from gan_cli.evaluation.features import FeatureSet


@dataclass
class Context:
    """What a metric is computed from. Feature-compared kinds fill real and fake; the others
    samples and source."""

    real: FeatureSet | None
    fake: FeatureSet | None
    n_classes: int  # the extractor's classes that are the data set's (0: none)
    seed: int
    samples: Tensor | None = None  # the generated samples (kinds scored on the samples)
    source: Any = None  # the real data they are scored against (e.g. a 2D mixture's modes)


Compute = Callable[[Context], dict[str, float]]


def metric(
    name: str,
    keys: dict[str, str],
    about: str,
    kinds: tuple[str, ...] = ("image",),
    needs: str = "features",
    counts: tuple[str, ...] = (),
) -> Callable[[Compute], Compute]:
    """Register the decorated compute function as metric `name` (see the module's docstring)."""
    return REGISTRY.register(
        name, summary=about, keys=dict(keys), kinds=tuple(kinds), needs=needs, counts=tuple(counts)
    )


@metric("fid", {"fid": "min"}, "Fréchet distance of the feature distributions (Heusel 2017)")
def _fid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.fid import frechet_distance

    return {"fid": frechet_distance(ctx.real.features, ctx.fake.features)}


@metric("kid", {"kid": "min", "kid_std": "min"}, "kernel distance, unbiased (Bińkowski 2018), and its std")
def _kid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.kid import kernel_inception_distance

    mean, std = kernel_inception_distance(ctx.real.features, ctx.fake.features, seed=ctx.seed)
    return {"kid": mean, "kid_std": std}


@metric(
    "pr",
    {"precision": "max", "recall": "max"},
    "k-NN precision (quality) and recall (diversity), k=3 (Kynkäänniemi 2019)",
)
def _precision_recall(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.precision_recall import precision_recall

    precision, recall = precision_recall(
        ctx.real.features,
        ctx.fake.features,
        real_radii=ctx.real.knn_radii(),
        fake_radii=ctx.fake.knn_radii(),
    )
    return {"precision": precision, "recall": recall}


@metric(
    "coverage",
    {"coverage": "max", "coverage_kl": "min"},
    "classes covered by G's samples, KL of their class histogram to the real one",
    needs="classes",
    counts=("coverage",),
)
def _coverage(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import class_coverage

    covered, kl = class_coverage(ctx.fake.probs, ctx.real.class_counts)
    return {"coverage": float(covered), "coverage_kl": kl}


@metric(
    "score",
    {"score": "max"},
    "Inception-style score exp(E KL(p(y|x) || p(y))) (Salimans 2016)",
    needs="probs",
)
def _score(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import classifier_score

    return {"score": classifier_score(ctx.fake.probs)}


@metric(
    "modes",
    {"modes_captured": "max", "high_quality_pct": "max", "kl_uniform": "min"},
    "modes captured, % high-quality points, KL to uniform (Srivastava 2017)",
    kinds=("points",),
    needs="samples",
    counts=("modes_captured",),
)
def _modes(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.toy2d import mode_metrics

    results = mode_metrics(ctx.samples, ctx.source.modes, ctx.source.mode_std)
    return {key: float(value) for key, value in results.items()}


def metric_names() -> list[str]:
    """What metrics= may list (sorted, as every list of the registry)."""
    return REGISTRY.names()


def default_metrics(kind: str, n_classes: int, features: str = "classifier") -> list[str]:
    """What `gan eval` computes when metrics= is not given: the data kind's choice
    (DataKind.default_metrics). kind: a data kind's name ("image", "points")."""
    from gan_cli.data import kinds

    return kinds.kind_named(kind).default_metrics(n_classes, features)


def primary_metric_direction(name: str) -> str:
    """ "min" or "max": which way `name` gets better. name is a result key ("fid", "recall", ...) or
    a metric of metrics= ("pr", "modes"), which stands for its first result (precision,
    modes_captured)."""
    for entry in REGISTRY:
        if name in entry.keys:
            return entry.keys[name]
    if name in REGISTRY:
        return next(iter(REGISTRY.get(name).keys.values()))
    keys = [key for entry in REGISTRY for key in entry.keys]
    raise UserError(f"no direction for the metric {name!r}; known: {', '.join(keys)}")


def count_keys() -> set[str]:
    """The result keys that count things (classes covered, modes captured)."""
    return {key for entry in REGISTRY for key in entry.counts}


def compute(name: str, context: Context) -> dict[str, float]:
    return REGISTRY.get(name).builder(context)
