"""How good a generator is, measured against real data: the library under `gan eval`, and what
training calls between steps.

    evaluator = Evaluator(data_cfg, features="classifier", split="test", n=10000, device="cpu")
    evaluator.evaluate(G, ["fid", "kid"], seed=0)   # -> {"fid": ..., "kid": ..., "kid_std": ...}
    evaluate_generator(G, data_cfg, ["fid"])       # the same through an in-memory cache of evaluators

Images: G's samples and n real images of the chosen split go through one feature extractor
(gan_cli.metrics.extractors), and the metrics compare the two feature sets. The extractor, the
real features and their k-NN radii are computed once per Evaluator and cached on disk under
<data.root>/gan_cli_cache/, so a second evaluation costs only G's samples and their features.
2D sets (ring8, grid25): the mode metrics of gan_cli.metrics.toy2d on n generated points.

Deterministic for a given seed: latents come from gan_cli.sampling (latent i depends only on the
seed), the real sample is a fixed set of indices, and KID's subsets are drawn from the seed. The
global RNG is never touched, so a training run that evaluates draws the same batches as one that
does not.

torch is imported inside the functions that need it: `gan eval --help` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

log = logging.getLogger("gan_cli.commands.eval")

FEATURES = ("classifier", "inception")
SPLITS = ("train", "test")
DEFAULT_N = 10_000
DEFAULT_BATCH_SIZE = 500
MAX_CACHED_EVALUATORS = 4


# ---- the metrics: a registry filled by a decorator ----------------------------------------------
@dataclass
class FeatureSet:
    """Features of one set of images, and what the metrics derive from them (computed once)."""

    features: Tensor
    probs: Tensor | None
    radii: Tensor | None = None  # k-NN radii for precision/recall
    class_counts: Tensor | None = None  # histogram of predicted classes

    def knn_radii(self) -> Tensor:
        from gan_cli.metrics.precision_recall import K, knn_radii

        if self.radii is None:
            if self.features.shape[0] <= K:
                raise UserError(
                    f"metrics=pr needs more than {K} samples in each set (its k-NN radii use k={K}); "
                    f"got {self.features.shape[0]}"
                )
            self.radii = knn_radii(self.features)
        return self.radii


@dataclass
class Context:
    real: FeatureSet
    fake: FeatureSet
    n_classes: int  # the extractor's classes that are the data set's (0: none)
    seed: int


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "image" or "points"
    keys: dict[str, str]  # result key -> "min" or "max" (which way is better)
    needs: str  # "", "probs" (class probabilities) or "classes" (the data set's own classes)
    compute: Callable[[Context], dict[str, float]] | None
    about: str


METRICS: dict[str, Metric] = {}


def metric(name: str, kind: str, keys: dict[str, str], about: str, needs: str = "") -> Callable:
    def decorator(compute: Callable[[Context], dict[str, float]] | None) -> Callable | None:
        METRICS[name] = Metric(name, kind, keys, needs, compute, about)
        return compute

    return decorator


@metric("fid", "image", {"fid": "min"}, "Fréchet distance of the feature distributions (Heusel 2017)")
def _fid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.fid import frechet_distance

    return {"fid": frechet_distance(ctx.real.features, ctx.fake.features)}


@metric(
    "kid",
    "image",
    {"kid": "min", "kid_std": "min"},
    "kernel distance, unbiased (Bińkowski 2018), and its std",
)
def _kid(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.kid import kernel_inception_distance

    mean, std = kernel_inception_distance(ctx.real.features, ctx.fake.features, seed=ctx.seed)
    return {"kid": mean, "kid_std": std}


@metric(
    "pr",
    "image",
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
    "image",
    {"coverage": "max", "coverage_kl": "min"},
    "classes covered by G's samples, KL of their class histogram to the real one",
    needs="classes",
)
def _coverage(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import class_coverage

    covered, kl = class_coverage(ctx.fake.probs, ctx.real.class_counts)
    return {"coverage": float(covered), "coverage_kl": kl}


@metric(
    "score",
    "image",
    {"score": "max"},
    "Inception-style score exp(E KL(p(y|x) || p(y))) (Salimans 2016)",
    "probs",
)
def _score(ctx: Context) -> dict[str, float]:
    from gan_cli.metrics.classes import classifier_score

    return {"score": classifier_score(ctx.fake.probs)}


# Computed on the points themselves in Evaluator.evaluate: no features involved.
metric(
    "modes",
    "points",
    {"modes_captured": "max", "high_quality_pct": "max", "kl_uniform": "min"},
    "modes captured, % high-quality points, KL to uniform (Srivastava 2017)",
)(None)


def metric_names() -> list[str]:
    return list(METRICS)


def default_metrics(kind: str, n_classes: int, features: str = "classifier") -> list[str]:
    """What `gan eval` computes when metrics= is not given.

    kind: "image" or "points" (2D sets); n_classes: the data set's classes (0: unlabeled).
    Class coverage is over the data set's own classes, so it needs the classifier.
    """
    if kind == "points":
        return ["modes"]
    if kind != "image":
        raise ValueError(f"kind must be 'image' or 'points', not {kind!r}")
    if n_classes <= 0:
        return ["fid", "kid", "pr"]
    return (
        ["fid", "kid", "pr", "coverage", "score"]
        if features == "classifier"
        else ["fid", "kid", "pr", "score"]
    )


def primary_metric_direction(name: str) -> str:
    """ "min" or "max": which way `name` gets better. name is a result key ("fid", "recall", ...) or
    a metric of metrics= ("pr", "modes"), which stands for its first result (precision,
    modes_captured)."""
    for spec in METRICS.values():
        if name in spec.keys:
            return spec.keys[name]
    if name in METRICS:
        return next(iter(METRICS[name].keys.values()))
    keys = [key for spec in METRICS.values() for key in spec.keys]
    raise UserError(f"no direction for the metric {name!r}; known: {', '.join(keys)}")


# ---- a progress bar that is only there on a terminal --------------------------------------------
class _Progress:
    """One transient rich bar on stderr, restarted for each phase; nothing when not on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._progress = None
        self._task = None
        if enabled:
            from rich.console import Console

            console = Console(stderr=True)
            if console.is_terminal:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                )

    def start(self, description: str, total: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._progress.start()
        else:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


# ---- the evaluator ------------------------------------------------------------------------------
def plain_data_config(data_cfg: Any) -> dict[str, Any]:
    """A DictConfig, a mapping or an attribute object -> a plain dict of the data config."""
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(data_cfg, DictConfig):
            return dict(OmegaConf.to_container(data_cfg, resolve=True))
    except ImportError:  # pragma: no cover - omegaconf comes with hydra
        pass
    if isinstance(data_cfg, Mapping):
        return dict(data_cfg)
    return dict(vars(data_cfg))


def _has_splits(name: str) -> bool:
    from gan_cli.data.shapes import IMAGE_SETS

    return name in IMAGE_SETS


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] floats -> uint8, rounded as a saved PNG would be: real and generated images then go
    into the extractor on the same 256 levels."""
    import torch

    return images.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


class Evaluator:
    """Scores generators against one data set, extractor, split and n.

    The extractor and the real features are set up on construction (a classifier may be trained
    there the first time, inception weights fetched): errors come before any generator is
    evaluated. `evaluate` may then be called any number of times.
    """

    def __init__(
        self,
        data_cfg: Any,
        features: str = "classifier",
        split: str = "test",
        n: int = DEFAULT_N,
        device: torch.device | str = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: bool = False,
        note: Callable[[str], None] | None = None,
    ) -> None:
        import torch

        from gan_cli.data.shapes import data_shape

        if features not in FEATURES:
            raise UserError(f"features={features} is not valid; valid: {', '.join(FEATURES)}")
        if split not in SPLITS:
            raise UserError(f"split={split} is not valid; valid: {', '.join(SPLITS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise UserError(f"n={n!r} is out of range: an integer >= 2")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UserError(f"batch_size={batch_size!r} is out of range: an integer >= 1")
        self.data = plain_data_config(data_cfg)
        self.name = self.data.get("name")
        self.shape = tuple(data_shape(self.data))
        self.kind = "points" if len(self.shape) == 1 else "image"
        self.features = features
        self.n = n
        self.device = torch.device(device)
        self.batch_size = batch_size
        self._progress = _Progress(progress)
        self._note = note or log.info
        self.n_classes = 0
        self.extractor = None
        self.real: FeatureSet | None = None
        self.n_real = 0
        self.timings: dict[str, float] = {}
        try:
            if self.kind == "points":
                self.split = "-"  # the mixture is known: nothing real to compare with
                self._setup_points()
            else:
                self.split = split if _has_splits(self.name) else "all"
                self._setup_images(split)
        finally:
            self._progress.close()

    # -- what is known about the setup, for results files
    @property
    def extractor_name(self) -> str:
        return "points" if self.kind == "points" else self.features

    def describe(self) -> dict[str, Any]:
        """Facts every result is tied to: the extractor (and its accuracy), split, n."""
        facts: dict[str, Any] = {
            "data": self.name,
            "extractor": self.extractor_name,
            "split": self.split,
            "n": self.n,
        }
        if self.kind == "image":
            facts["n_real"] = self.n_real
            facts["extractor_id"] = self.extractor.ident
            facts.update(self.extractor.info)
        return facts

    # -- setup
    def _setup_points(self) -> None:
        from gan_cli import data

        points = data.build(SimpleNamespace(**self.data), "cpu", 1)
        self.modes, self.mode_std = points.modes, points.mode_std
        self._cap_n(points.num_examples, f"points of data={self.name} (its data.n_points)")

    def _setup_images(self, split: str) -> None:
        from gan_cli import data
        from gan_cli.metrics import extractors

        real_set = data.build(SimpleNamespace(**{**self.data, "split": split}), self.device, self.batch_size)
        self.n_classes = real_set.n_classes
        if self.features == "classifier" and self.n_classes == 0:
            where = f" at {self.data.get('path')}" if self.data.get("path") else ""
            raise UserError(
                f"features=classifier needs class labels and data={self.name}{where} has none "
                "(no class subfolders); use features=inception"
            )
        self.extractor = extractors.build(self.features, self.data, self.device, self._note, self._progress)
        if self.extractor.n_classes not in (0, self.n_classes):
            raise UserError(
                f"the cached classifier {self.extractor.info.get('classifier')} has "
                f"{self.extractor.n_classes} classes and data={self.name} has {self.n_classes}; delete it"
            )
        self.real = self._real_features(real_set)

    def _cap_n(self, available: int, what: str) -> None:
        """n beyond the data set's size becomes its size, for the generated samples too.

        More real samples would only repeat examples, and the generated count follows so that
        n=1e11 is a bounded evaluation, not days of generating (or an allocation that cannot fit).
        For 2D sets the "size" is data.n_points, the set the model was trained on.
        """
        if self.n > available:
            self._note(f"n={self.n:,} is more than the {available:,} {what}; using n={available:,}")
            self.n = available

    def _real_images(self, real_set: Any, n_real: int) -> Tensor:
        """A fixed sample of n_real real images as uint8: the same indices as real_sample()."""
        from gan_cli.data.batches import sample_indices

        if hasattr(real_set, "images"):
            index = sample_indices(real_set.num_examples, n_real).to(real_set.images.device)
            return real_set.images[index]
        return to_uint8(real_set.real_sample(n_real))

    def _real_features(self, real_set: Any) -> FeatureSet:
        from gan_cli.metrics import cache
        from gan_cli.metrics.classes import class_histogram
        from gan_cli.metrics.precision_recall import K

        self._cap_n(real_set.num_examples, f"images in data={self.name} split={self.split}")
        self.n_real = self.n
        if self.n_real < 2:
            raise UserError(
                f"data={self.name} split={self.split} has {real_set.num_examples} image(s); "
                "the metrics need at least 2 real images"
            )
        images = self._real_images(real_set, self.n_real)
        key = cache.digest(
            {
                "data": cache.data_identity(self.data),
                "split": self.split,
                "extractor": self.extractor.ident,
                "n": self.n_real,
                "k": K,
                "images": cache.digest(images.cpu().numpy().tobytes()),
            }
        )
        path = cache.folder(self.data) / (
            f"real-{self.name}-{self.split}-{self.extractor.name}-n{self.n_real}-{key}.pt"
        )
        payload = cache.load(path)
        if payload is not None and payload.get("key") == key:
            return FeatureSet(
                payload["features"], payload.get("probs"), payload.get("radii"), payload.get("class_counts")
            )
        self._progress.start(
            f"features of {self.n_real:,} real images", math.ceil(self.n_real / self.batch_size)
        )
        chunks = [self.extractor(chunk) for chunk in self._advancing(images.split(self.batch_size))]
        features = torch_cat([f for f, _ in chunks])
        probs = torch_cat([p for _, p in chunks]) if chunks[0][1] is not None else None
        real = FeatureSet(features, probs)
        if self.n_real > K:
            real.knn_radii()
        if probs is not None and self.extractor.n_classes > 0:
            real.class_counts = class_histogram(probs, self.extractor.n_classes)
        cache.save(
            {
                "key": key,
                "data": self.name,
                "split": self.split,
                "extractor": self.extractor.ident,
                "n": self.n_real,
                "features": real.features,
                "probs": real.probs,
                "radii": real.radii,
                "class_counts": real.class_counts,
            },
            path,
        )
        return real

    def _advancing(self, items: Sequence | Iterator) -> Iterator:
        for item in items:
            yield item
            self._progress.advance()

    # -- evaluation
    def resolve_metrics(self, metrics: Sequence[str] | None) -> list[str]:
        """The metrics to compute: the defaults for None; UserError for any that cannot apply."""
        if metrics is None:
            names = default_metrics(self.kind, self.n_classes, self.features)
            self._check_sample_counts(names)
            return names
        names = list(dict.fromkeys(str(m) for m in metrics))
        if not names:
            raise UserError("metrics=[] names no metric; give some, or metrics=null for the defaults")
        what = f"data={self.name} (2D points)" if self.kind == "points" else f"data={self.name} (images)"
        valid_here = [name for name, spec in METRICS.items() if spec.kind == self.kind]
        for name in names:
            spec = METRICS.get(name)
            if spec is None:
                raise UserError(f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
            if spec.kind != self.kind:
                raise UserError(
                    f"metrics={name} does not apply to {what}; valid here: {', '.join(valid_here)}"
                )
            if spec.needs == "classes" and self.extractor.n_classes == 0:
                raise UserError(
                    f"metrics={name} counts the data set's own classes: it needs features=classifier "
                    f"(features={self.features} has other classes)"
                )
        self._check_sample_counts(names)
        return names

    def _check_sample_counts(self, names: list[str]) -> None:
        """Refused here, before any sample is generated (or a training run's first step), rather
        than when the metric is computed."""
        from gan_cli.metrics.precision_recall import K

        count = min(self.n, getattr(self, "n_real", self.n))
        if "pr" in names and count <= K:
            raise UserError(
                f"metrics=pr needs more than {K} samples in each set (its k-NN radii use k={K}); "
                f"n={self.n} gives {count}: raise n (gan eval) or trainer.eval_n (gan train)"
            )

    def _generated(self, generator: nn.Module, seed: int) -> Iterator[Tensor]:
        """G's n samples, float32 on the CPU, a batch at a time (a progress bar on a terminal)."""
        from gan_cli import sampling

        step = sampling.step_size(self.batch_size)
        batches = sampling.latent_batches(seed, self.n, generator.z_dim, step)
        device = _module_device(generator, self.device)
        for z in batches:
            out = sampling.forward(generator, z, device)
            if tuple(out.shape[1:]) != self.shape:
                raise UserError(
                    f"the generator makes samples of shape {tuple(out.shape[1:])} and data={self.name} "
                    f"has {self.shape}: evaluate it against the data it was trained on"
                )
            yield out

    def evaluate(
        self, generator: nn.Module, metrics: Sequence[str] | None = None, seed: int = 0
    ) -> dict[str, float]:
        """{result key: value} for G's n samples (None: default_metrics). G is put in eval mode for
        the duration and given back in the mode it was in."""
        names = self.resolve_metrics(metrics)
        was_training = generator.training
        generator.eval()
        what = "points" if self.kind == "points" else "images"
        try:
            return self._score(self._generated(generator, seed), names, seed, f"generating {self.n:,} {what}")
        finally:
            generator.train(was_training)

    def evaluate_samples(
        self, samples: Tensor | Iterable[Tensor], metrics: Sequence[str] | None = None, seed: int = 0
    ) -> dict[str, float]:
        """The same for samples made elsewhere: a tensor (N, *shape) or batches of them, images in
        [-1, 1] (e.g. `gan sample format=npy` output, or real images for a real-vs-real floor)."""
        import torch

        names = self.resolve_metrics(metrics)
        batches = samples.split(self.batch_size) if isinstance(samples, torch.Tensor) else samples
        return self._score(iter(batches), names, seed, "scoring the samples")

    def _score(
        self, batches: Iterator[Tensor], names: list[str], seed: int, description: str
    ) -> dict[str, float]:
        import torch

        from gan_cli.metrics.toy2d import mode_metrics

        started = time.perf_counter()
        self._progress.start(description, math.ceil(self.n / self.batch_size))
        try:
            if self.kind == "points":
                points = torch.cat(list(self._advancing(batches)))
                results = mode_metrics(points, self.modes, self.mode_std)
                self.timings = {"samples_s": time.perf_counter() - started}
                return {key: float(value) for key, value in results.items()}
            chunks = [self.extractor(to_uint8(batch.clamp(-1, 1))) for batch in self._advancing(batches)]
        finally:
            self._progress.close()
        probs = [p for _, p in chunks]
        fake = FeatureSet(
            torch_cat([f for f, _ in chunks]), torch_cat(probs) if probs[0] is not None else None
        )
        if fake.features.shape[0] < 2:
            raise UserError(f"{fake.features.shape[0]} sample(s) to score: the metrics need at least 2")
        # Where the time of the last evaluation went (generating and extracting; each metric).
        self.timings = {"samples_s": time.perf_counter() - started}
        context = Context(self.real, fake, self.extractor.n_classes, seed)
        results: dict[str, float] = {}
        for name in names:
            started = time.perf_counter()
            results.update(METRICS[name].compute(context))
            self.timings[f"{name}_s"] = time.perf_counter() - started
        return results


def torch_cat(tensors: list[Tensor]) -> Tensor:
    import torch

    return torch.cat(tensors)


def _module_device(module: nn.Module, fallback: torch.device) -> torch.device:
    for parameter in module.parameters():
        return parameter.device
    return fallback


# ---- what training calls ------------------------------------------------------------------------
_EVALUATORS: dict[str, Evaluator] = {}


def get_evaluator(
    data_cfg: Any,
    features: str = "classifier",
    split: str = "test",
    n: int = DEFAULT_N,
    device: torch.device | str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    note: Callable[[str], None] | None = None,
) -> Evaluator:
    """The Evaluator for these settings, built once per process (the extractor and the real
    features stay in memory between calls)."""
    import torch

    from gan_cli.metrics import cache

    data = plain_data_config(data_cfg)
    key = cache.digest([data, features, split, n, str(torch.device(device)), batch_size])
    evaluator = _EVALUATORS.get(key)
    if evaluator is None:
        evaluator = Evaluator(data, features, split, n, device, batch_size, note=note)
        if len(_EVALUATORS) >= MAX_CACHED_EVALUATORS:
            _EVALUATORS.pop(next(iter(_EVALUATORS)))
        _EVALUATORS[key] = evaluator
    return evaluator


def evaluate_generator(
    generator: nn.Module,
    data_cfg: Any,
    metrics: Sequence[str] | None = None,
    n: int = DEFAULT_N,
    features: str = "classifier",
    split: str = "test",
    device: torch.device | str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
) -> dict[str, float]:
    """{result key: value} for G against the data set of data_cfg; cheap when called again with
    the same settings. device None: where G's parameters are."""
    import torch

    target = _module_device(generator, torch.device("cpu")) if device is None else device
    evaluator = get_evaluator(data_cfg, features, split, n, target, batch_size)
    return evaluator.evaluate(generator, metrics, seed)


# ---- the command ----------------------------------------------------------------------------------
@dataclass
class EvalRun:
    path: Path  # the results file written
    report: dict[str, Any]  # this evaluation: its settings, metrics and result rows
    rows: list[dict[str, Any]] = field(default_factory=list)  # this evaluation's result rows
    saved: dict[str, Any] = field(default_factory=dict)  # the file's content: every score kept


def output_path(out: str | None, checkpoint: Path) -> Path:
    """out=<name>.json is the file; any other out= is a folder (eval.json in it); none: beside the
    checkpoint."""
    if out is None:
        return checkpoint.parent / "eval.json"
    path = Path(os.path.expanduser(str(out)))
    if path.suffix.lower() == ".json" and not path.is_dir():
        return path
    return path / "eval.json"


# What makes two scores the same measurement: a newer result with this key replaces the older one,
# results with another key are kept. Weights (G or EMA) count: they are different generators. The
# seed does not: another seed measures the same thing again.
RESULT_KEY = ("checkpoint", "weights", "metric", "extractor", "n", "split")


def merge_results(previous: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list:
    """previous rows minus those that rows replace, then rows: the results file accumulates every
    score ever computed for its checkpoints (last.pt and best.pt share checkpoints/eval.json)."""

    def key(row: Mapping[str, Any]) -> tuple:
        return tuple(json.dumps(row.get(name), sort_keys=True) for name in RESULT_KEY)

    replaced = {key(row) for row in rows}
    return [dict(row) for row in previous if key(row) not in replaced] + [dict(row) for row in rows]


def _previous_results(path: Path) -> list[dict[str, Any]]:
    """The result rows already in the results file, or [] when there is none. A file that is not
    one (out= naming some other JSON) is refused rather than overwritten."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UserError(f"cannot read {path} to add to it ({reason})") from None
    try:
        saved = json.loads(text)
    except (ValueError, RecursionError):
        saved = None
    rows = saved.get("results") if isinstance(saved, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UserError(
            f"{path} exists and is not a gan eval results file; move it away or give another out="
        )
    return rows


def _write_json(report: dict[str, Any], path: Path) -> None:
    """Atomically: a kill or a full disk leaves the previous file whole (it holds earlier scores)."""
    import tempfile

    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own: two evaluations writing into one folder do not share a partial file
        fd, partial = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(report, indent=2) + "\n")
        os.replace(partial, path)
    except OSError as error:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)
        raise UserError(f"cannot write {path} ({error.strerror or error})") from None


def run(cfg: Any, note: Callable[[str], None] | None = None) -> EvalRun:
    """`gan eval` without Hydra: cfg has the keys of gan_cli.commands.config.EvalConfig, already checked by
    validate_eval. Writes the results into the results file (merge_results: earlier scores with
    other settings stay) and returns them."""
    from gan_cli import device as devices
    from gan_cli import sampling

    started = time.perf_counter()
    ckpt = sampling.resolve_checkpoint(cfg.ckpt)
    path = output_path(cfg.out, ckpt)
    if path.parent.exists() and not path.parent.is_dir():
        raise UserError(f"out={cfg.out}: {path.parent} is a file; give a folder or a .json file")
    _previous_results(path)  # refused before the evaluation, not after it
    target = devices.resolve(cfg.device)
    loaded = sampling.load_generator(ckpt, target, use_ema=cfg.use_ema)
    data_cfg = dict(loaded.data)
    if cfg.data_root is not None:
        data_cfg["root"] = str(cfg.data_root)
    metrics = None if cfg.metrics is None else [str(m) for m in cfg.metrics]

    evaluator = Evaluator(
        data_cfg, cfg.features, cfg.split, cfg.n, target, cfg.batch_size, progress=True, note=note
    )
    names = evaluator.resolve_metrics(metrics)
    values = evaluator.evaluate(loaded.generator, names, seed=cfg.seed)

    when = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    facts = evaluator.describe()
    rows = [
        {
            "metric": key,
            "value": value,
            "extractor": facts["extractor"],
            "n": facts["n"],
            "split": facts["split"],
            "checkpoint": str(ckpt.resolve()),
            "weights": loaded.weights,
            "step": loaded.step,
            "seed": cfg.seed,
            "time": when,
        }
        for key, value in values.items()
    ]
    report = {
        "checkpoint": str(ckpt.resolve()),
        "step": loaded.step,
        "weights": loaded.weights,
        **facts,
        "seed": cfg.seed,
        "time": when,
        "seconds": round(time.perf_counter() - started, 2),
        "metrics": values,
        "results": rows,
    }
    # read again: another evaluation may have added to the file meanwhile
    saved = {**report, "results": merge_results(_previous_results(path), rows)}
    _write_json(saved, path)
    return EvalRun(path, report, rows, saved)
