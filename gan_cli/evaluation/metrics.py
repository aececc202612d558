"""The metrics `gan eval` (and evaluation during training) can compute, registered in
gan_cli.registry.METRICS. The math lives in gan_cli.metrics; here each metric says

- its name (what metrics= lists),
- its result keys and which way each gets better ("min" or "max": best.pt and sweeps rank by it),
- what it needs: "features" of both sets, "probs" (class probabilities of the generated set),
  "classes" (probabilities over the data set's own classes: the classifier extractor), or
  "samples" (the generated samples themselves and the real source, for kinds that are not
  compared through features), or "likelihood" (the model's own networks and the real images: a
  VAE's nll and elbo, offered where `accepts` says the recipe's other networks allow them),
- the data kinds it applies to (gan_cli.data.kinds),
- which of its results count things (shown without decimals),
- whether it scores a conditional generator (`conditional`: the labels the samples were asked for,
  FeatureSet.labels, and the real images' own); those are offered, and added to the defaults, only
  for generators that take labels,
- its compute function: Context -> {result key: value}.

The labels of a conditional generator's samples follow the real split's class frequencies
(gan_cli.metrics.classes.proportional_labels; the Evaluator says how).

A new metric is one decorated function here. Nothing in this module imports torch (the compute
functions do): the config check reads the registry before torch loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    # metrics of a model's likelihood (needs="likelihood"): the generator, the recipe's other
    # networks by name, the real images (uint8) and the importance samples per image
    generator: Any = None
    networks: dict[str, Any] = field(default_factory=dict)
    real_images: Tensor | None = None
    nll_k: int = 100
    batch_size: int = 500
    cache: dict[str, Any] = field(default_factory=dict)  # work shared by metrics (nll and elbo)
    # data.classes: the classifier's class of each (renumbered) label; None: labels are its classes
    class_ids: Tensor | None = None


Compute = Callable[[Context], dict[str, float]]

# The kinds compared through a feature extractor: images, and audio clips through the log-mel
# classifier (gan_cli.metrics.audio_classifier); what reads features applies to both.
FEATURE_KINDS = ("image", "audio")


def metric(
    name: str,
    keys: dict[str, str],
    about: str,
    kinds: tuple[str, ...] = ("image",),
    needs: str = "features",
    counts: tuple[str, ...] = (),
    conditional: bool = False,
    accepts: Callable[[dict[str, Any]], bool] | None = None,
    leads: bool = False,
) -> Callable[[Compute], Compute]:
    """Register the decorated compute function as metric `name` (see the module's docstring).
    accepts: for a metric of more than the generator (needs="likelihood"), whether the recipe's
    other networks (name -> module) make it possible; such metrics join the defaults where they do,
    those that `leads` first (best.pt follows the first default)."""
    return REGISTRY.register(
        name,
        summary=about,
        keys=dict(keys),
        kinds=tuple(kinds),
        needs=needs,
        counts=tuple(counts),
        conditional=bool(conditional),
        accepts=accepts,
        leads=bool(leads),
    )


@metric(
    "fid", {"fid": "min"}, "Fréchet distance of the feature distributions (Heusel 2017)", kinds=FEATURE_KINDS
)
def _fid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.fid import frechet_distance

    return {"fid": frechet_distance(ctx.real.features, ctx.fake.features)}


@metric(
    "kid",
    {"kid": "min", "kid_std": "min"},
    "kernel distance, unbiased (Bińkowski 2018), and its std",
    kinds=FEATURE_KINDS,
)
def _kid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.kid import kernel_inception_distance

    mean, std = kernel_inception_distance(ctx.real.features, ctx.fake.features, seed=ctx.seed)
    return {"kid": mean, "kid_std": std}


@metric(
    "pr",
    {"precision": "max", "recall": "max"},
    "k-NN precision (quality) and recall (diversity), k=3 (Kynkäänniemi 2019)",
    kinds=FEATURE_KINDS,
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
    kinds=FEATURE_KINDS,
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
    kinds=FEATURE_KINDS,
    needs="probs",
)
def _score(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import classifier_score

    return {"score": classifier_score(ctx.fake.probs)}


@metric(
    "cond_acc",
    {"cond_acc": "max"},
    "conditioning accuracy: share of samples the data set's classifier puts in the class asked for",
    kinds=FEATURE_KINDS,
    needs="classes",
    conditional=True,
)
def _conditioning_accuracy(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import conditioning_accuracy

    labels = ctx.fake.labels if ctx.class_ids is None else ctx.class_ids[ctx.fake.labels]
    return {"cond_acc": conditioning_accuracy(ctx.fake.probs, labels)}


@metric(
    "intra_fid",
    {"intra_fid": "min"},
    "intra-class FID: mean over classes of the FID against that class's real images (Miyato 2018)",
    kinds=FEATURE_KINDS,
    conditional=True,
)
def _intra_fid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.fid import intra_class_fid

    try:
        value = intra_class_fid(ctx.real.features, ctx.real.labels, ctx.fake.features, ctx.fake.labels)
    except ValueError as error:
        raise UserError(
            f"metrics=intra_fid: {error}; raise n (gan eval) or trainer.eval_n (gan train)"
        ) from None
    return {"intra_fid": value}


@metric(
    "code_acc",
    {"code_acc": "max"},
    "InfoGAN: accuracy of categorical code cat0 against the classifier's classes after the best "
    "one-to-one matching (Hungarian; Chen et al. 2016, sec. 7.1)",
    needs="classes",
)
def _code_accuracy(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.code_matching import matched_accuracy
    from gan_cli.models import contract, infogan
    from gan_cli.sampling.latents import latents

    codes = None if ctx.generator is None else contract.latent_codes(ctx.generator)
    if codes is None or not codes.categorical:
        raise UserError(
            "metrics=code_acc scores an InfoGAN generator's categorical code (recipe=infogan); "
            "this one has none: drop it"
        )
    n = ctx.fake.probs.shape[0]
    drawn = infogan.categories_of(codes, latents(ctx.seed, n, ctx.generator))[:, 0]  # the evaluator's stream
    predicted = ctx.fake.probs[:, : ctx.n_classes].argmax(dim=1)
    return {"code_acc": matched_accuracy(drawn, predicted, codes.categorical[0], ctx.n_classes)}


def has_variational_encoder(networks: dict[str, Any]) -> bool:
    """A VAE's networks: an "encoder" giving q(z | x) (gan_cli.models.autoencoder.Encoder)."""
    return bool(getattr(networks.get("encoder"), "variational", False))


def _bounds(ctx: Context) -> dict[str, float]:
    """nll and elbo from one pass over the real images (shared through ctx.cache)."""
    if "likelihood" not in ctx.cache:
        from gan_cli.metrics.likelihood import model_bounds

        ctx.cache["likelihood"] = model_bounds(
            ctx.generator, ctx.networks["encoder"], ctx.real_images, ctx.nll_k, ctx.seed, ctx.batch_size
        )
    return ctx.cache["likelihood"]


@metric(
    "nll",
    {"nll": "min"},
    "negative log-likelihood bound of a VAE, nats per real image: -L_k, k importance samples "
    "(Burda 2016), an upper bound on the true NLL",
    needs="likelihood",
    accepts=has_variational_encoder,
    leads=True,
)
def _nll(ctx: Context) -> dict[str, float]:
    return {"nll": _bounds(ctx)["nll"]}


@metric(
    "elbo",
    {"elbo": "max"},
    "evidence lower bound of a VAE, nats per real image (Kingma & Welling 2014), closed-form KL",
    needs="likelihood",
    accepts=has_variational_encoder,
)
def _elbo(ctx: Context) -> dict[str, float]:
    return {"elbo": _bounds(ctx)["elbo"]}


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


def is_conditional(name: str) -> bool:
    """Whether metric `name` scores a conditional generator only (a plugin's says so too)."""
    return bool(REGISTRY.get(name).facts.get("conditional", False))


def refuse_conditional(names: list[str] | tuple[str, ...], conditional: bool) -> None:
    """UserError for the first conditional metric of names when the generator takes no labels."""
    if conditional:
        return
    for name in names:
        if name in REGISTRY and is_conditional(name):
            raise UserError(
                f"metrics={name} scores a conditional generator (samples asked for by class); this "
                "generator takes no class labels: drop it, or evaluate a run trained with model.cond"
            )


def conditional_metrics(kind: str, n_classes: int, features: str = "classifier") -> list[str]:
    """The registered conditional metrics that apply to a conditional generator of this data: of
    the kind, with the data set's labels (n_classes > 0), and the classifier for those that need
    its classes (needs="classes"), in the registry's order."""
    if n_classes <= 0:
        return []
    return [
        entry.name
        for entry in REGISTRY
        if entry.facts.get("conditional", False)
        and kind in entry.kinds
        and (entry.needs != "classes" or features == "classifier")
    ]


def default_metrics(
    kind: str, n_classes: int, features: str = "classifier", conditional: bool = False
) -> list[str]:
    """What `gan eval` (and evaluation during training) computes when no metrics are given: the
    data kind's choice (DataKind.default_metrics), and for a conditional generator
    (contract.takes_labels) the conditional metrics after them (conditional_metrics: cond_acc,
    intra_fid). kind: a data kind's name ("image", "points"); n_classes: the data set's classes."""
    from gan_cli.data import kinds

    names = list(kinds.kind_named(kind).default_metrics(n_classes, features))
    if conditional:
        names += [name for name in conditional_metrics(kind, n_classes, features) if name not in names]
    return names


def primary_metric_direction(name: str) -> str:
    """ "min" or "max": which way `name` gets better. name is a result key ("fid", "recall", ...) or
    a metric of metrics= ("pr", "modes"), which stands for its first result (precision,
    modes_captured)."""
    return ranking(name)[0][1]


def ranking(name: str) -> list[tuple[str, str]]:
    """How best.pt ranks evaluations: (result key, direction) pairs, compared in order. The primary
    first, then the keys its metric reports after it, which break ties: a count like
    modes_captured is often equal at every evaluation (8 of 8), and then the higher
    high_quality_pct (then the lower kl_uniform) is the better checkpoint, not the earliest. A
    metric's name (metrics=modes) stands for its first key."""
    for entry in REGISTRY:
        keys = list(entry.keys)
        if name in keys:
            return [(key, entry.keys[key]) for key in keys[keys.index(name) :]]
    if name in REGISTRY:
        return list(REGISTRY.get(name).keys.items())
    keys = [key for entry in REGISTRY for key in entry.keys]
    raise UserError(f"no direction for the metric {name!r}; known: {', '.join(keys)}")


def count_keys() -> set[str]:
    """The result keys that count things (classes covered, modes captured)."""
    return {key for entry in REGISTRY for key in entry.counts}


def network_metrics(networks: dict[str, Any], kind: str = "image") -> list[str]:
    """The registered metrics of more than the generator that these networks (the recipe's other
    networks by name) make possible, for data of `kind`: a VAE's nll (it leads) and elbo."""
    names = [
        entry.name
        for entry in REGISTRY
        if entry.facts.get("accepts") is not None and kind in entry.kinds and entry.accepts(networks)
    ]
    return sorted(names, key=lambda name: not REGISTRY.get(name).facts.get("leads", False))


def first_key(name: str) -> str:
    """The first result key of metric `name` (what best.pt follows when it leads the list)."""
    return next(iter(REGISTRY.get(name).keys))


def compute(name: str, context: Context) -> dict[str, float]:
    return REGISTRY.get(name).builder(context)
