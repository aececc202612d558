"""The Evaluator: scores generators against one data set, extractor, split and n.

    evaluator = Evaluator(data_cfg, features="classifier", split="test", n=10000, device="cpu")
    evaluator.evaluate(G, ["fid", "kid"], seed=0)   # -> {"fid": ..., "kid": ..., "kid_std": ...}
    evaluate_generator(G, data_cfg, ["fid"])       # the same through an in-memory cache of evaluators

The data kind decides how: images go through a feature extractor (gan_cli.metrics.extractors)
and the metrics compare the real and generated feature sets (features.py); 2D points are scored
on the points themselves against the known mixture. Which metrics apply, and which are the
default, come from the metrics' registry entries (metrics.py) and the data kind.

Deterministic for a given seed: latents come from gan_cli.sampling (latent i depends only on the
seed) through the generator contract, the real sample is a fixed set of indices, and KID's subsets
are drawn from the seed. A conditional generator (contract.takes_labels) is asked for labels that
follow the real split's class frequencies: proportional_counts of the n samples over the classes
(a balanced split gets balanced labels), in an order shuffled from the seed (generated_labels);
its default metrics add the conditional ones (cond_acc, intra_fid). The global RNG is never touched,
so a training run that evaluates draws the same batches as one that does not. torch is imported
inside the functions.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError
from gan_cli.evaluation import metrics as registered
from gan_cli.evaluation.features import FeatureSet, extract, real_features
from gan_cli.metrics import extractors
from gan_cli.registry import DATA, EXTRACTORS, METRICS

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from gan_cli.outputs.progress import Bar

log = logging.getLogger("gan_cli.commands.eval")

FEATURES = extractors.NAMES  # the registered extractors' names (features=)
SPLITS = ("train", "test")
DEFAULT_N = 10_000
DEFAULT_BATCH_SIZE = 500
DEFAULT_NLL_K = 100  # importance samples per image of metrics=nll (Burda et al. 2016 report k=5000)
MAX_NLL_K = 100_000
MAX_CACHED_EVALUATORS = 4


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
    """Whether the data set comes with train and test splits (its registration's `splits` fact);
    a set no longer registered (a plugin's, in an old checkpoint) has none to choose from."""
    return name in DATA and bool(DATA.get(name).facts.get("splits"))


def module_device(module: nn.Module, fallback: torch.device) -> torch.device:
    for parameter in module.parameters():
        return parameter.device
    return fallback


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
        nll_k: int = DEFAULT_NLL_K,
    ) -> None:
        import torch

        from gan_cli.data import kinds
        from gan_cli.data.shapes import data_shape

        if features not in EXTRACTORS:
            raise UserError(f"features={features} is not valid; valid: {', '.join(EXTRACTORS.names())}")
        if split not in SPLITS:
            raise UserError(f"split={split} is not valid; valid: {', '.join(SPLITS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise UserError(f"n={n!r} is out of range: an integer >= 2")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UserError(f"batch_size={batch_size!r} is out of range: an integer >= 1")
        if isinstance(nll_k, bool) or not isinstance(nll_k, int) or not 1 <= nll_k <= MAX_NLL_K:
            raise UserError(f"nll_k={nll_k!r} is out of range: an integer >= 1 and <= {MAX_NLL_K:,}")
        self.nll_k = nll_k
        self.real_images: Tensor | None = None  # the real sample as uint8 (likelihood metrics)
        self.data = plain_data_config(data_cfg)
        self.name = self.data.get("name")
        self.shape = tuple(data_shape(self.data))
        self.kind = kinds.kind_of_data(self.data, self.shape)
        # clips (1, L): scored through the audio classifier, as int16 (the folder's storage)
        self.audio = self.kind.name == "audio" or len(self.shape) == 2
        self.features = features
        self.n = n
        self.device = torch.device(device)
        self.batch_size = batch_size
        self._progress = progress
        self._note = note or log.info
        self.n_classes = 0
        self.class_ids: Tensor | None = None  # data.classes: the classifier's class of each label
        self.extractor = None
        self.real: FeatureSet | None = None
        self.class_counts: Tensor | None = None  # the real split's examples per class (its labels)
        self.source: Any = None  # the real data, for kinds scored on the samples themselves
        self.n_real = 0
        self.timings: dict[str, float] = {}
        if self.kind.compared_by_features:
            self.split = split if _has_splits(self.name) else "all"
            self._setup_features(split)
        else:
            self.split = "-"  # the source is known (a 2D mixture): nothing real to sample
            self._setup_source()

    def _bar(self, description: str, total: int) -> Bar:
        from gan_cli.outputs.progress import Bar

        return Bar(total, description, transient=True, enabled=self._progress)

    # -- what is known about the setup, for results files
    @property
    def extractor_name(self) -> str:
        return self.features if self.kind.compared_by_features else self.kind.name

    def describe(self) -> dict[str, Any]:
        """Facts every result is tied to: the extractor (and its accuracy), split, n."""
        facts: dict[str, Any] = {
            "data": self.name,
            "extractor": self.extractor_name,
            "split": self.split,
            "n": self.n,
        }
        if self.extractor is not None:
            facts["n_real"] = self.n_real
            facts["real_described"] = self.kind.describe  # "images", "audio clips": the footer's noun
            facts["extractor_id"] = self.extractor.ident
            facts.update(self.extractor.info)
        return facts

    # -- setup
    def _setup_source(self) -> None:
        from gan_cli import data

        self.source = data.build(SimpleNamespace(**self.data), "cpu", 1)
        self._cap_n(self.source.num_examples, f"points of data={self.name} (its data.n_points)")

    def _setup_features(self, split: str) -> None:
        import torch

        from gan_cli import data

        extractors.check_applies(self.features, self.data, self.audio)  # before decoding the set
        real_set = data.build(SimpleNamespace(**{**self.data, "split": split}), self.device, self.batch_size)
        self.n_classes = real_set.n_classes
        if self.features == "classifier" and self.n_classes == 0:
            where = f" at {self.data.get('path')}" if self.data.get("path") else ""
            instead = (
                "put the clips in one subfolder per class (audio has no other extractor)"
                if self.audio
                else "use features=inception"
            )
            raise UserError(
                f"features=classifier needs class labels and data={self.name}{where} has none "
                f"(no class subfolders); {instead}"
            )
        self.extractor = extractors.build(self.features, self.data, self.device, self._note, self._bar)
        # data.classes keeps some classes, renumbered (gan_cli.data.subsets): the classifier knows
        # the full set's, and class_ids maps each kept label to its class there
        subset = getattr(real_set, "subset", None)
        kept = subset.class_ids if subset is not None else None
        self.class_ids = None if kept is None else torch.tensor(kept, dtype=torch.int64)
        full_classes = subset.n_classes_before if kept is not None else self.n_classes
        if self.extractor.n_classes not in (0, full_classes):
            raise UserError(
                f"the cached classifier {self.extractor.info.get('classifier')} has "
                f"{self.extractor.n_classes} classes and data={self.name} has {full_classes}; delete it"
            )
        self._cap_n(real_set.num_examples, f"images in data={self.name} split={self.split}")
        self.n_real = self.n
        if self.n_real < 2:
            raise UserError(
                f"data={self.name} split={self.split} has {real_set.num_examples} image(s); "
                "the metrics need at least 2 real images"
            )
        images = self.real_images = self._real_images(real_set, self.n_real)
        labels = self._real_labels(real_set, self.n_real)
        self.real = real_features(
            self.extractor, images, self.data, self.split, self.batch_size, self._bar, labels
        )

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
        """A fixed sample of n_real real examples as the extractor takes them (uint8 images, int16
        clips): the same indices as real_sample(); an in-memory set's stored tensor is indexed."""
        from gan_cli.data.batches import sample_indices

        stored = getattr(real_set, "clips" if self.audio else "images", None)
        if stored is not None:
            return stored[sample_indices(real_set.num_examples, n_real).to(stored.device)]
        return self.extractor.encode(real_set.real_sample(n_real))

    def _real_labels(self, real_set: Any, n_real: int) -> Tensor | None:
        """The classes of the real sample (the indices of _real_images), and the split's examples
        per class into self.class_counts; None for a set without labels. A streamed folder's
        labels are its file list's (real_set.dataset.labels), in the order real_sample reads them."""
        import torch

        from gan_cli.data.batches import sample_indices

        if self.n_classes <= 0:
            return None
        every = getattr(real_set, "labels", None)
        if every is None:
            listed = getattr(getattr(real_set, "dataset", None), "labels", None)
            every = None if listed is None else torch.as_tensor(listed, dtype=torch.int64)
        if every is None or every.shape[0] != real_set.num_examples:
            return None
        every = every.to("cpu", torch.int64)
        self.class_counts = torch.bincount(every, minlength=self.n_classes)[: self.n_classes]
        return every[sample_indices(real_set.num_examples, n_real)]

    # -- evaluation
    def network_metrics(self, networks: Mapping[str, Any] | None) -> list[str]:
        """The metrics the recipe's other networks make possible here (a VAE's nll and elbo)."""
        if not networks or not self.kind.compared_by_features:
            return []
        return registered.network_metrics(dict(networks), self.kind.name)

    def resolve_metrics(
        self,
        metrics: Sequence[str] | None,
        conditional: bool = False,
        networks: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The metrics to compute: the defaults for None (gan_cli.evaluation.metrics.default_metrics;
        conditional: for a generator that takes labels, which adds cond_acc and intra_fid; networks:
        the recipe's other networks by name, which add what they make possible first, a VAE's nll
        and elbo); UserError for any that cannot apply."""
        if metrics is None:
            names = registered.default_metrics(self.kind.name, self.n_classes, self.features, conditional)
            names = [*self.network_metrics(networks), *names]
            if self.real is not None and self.real.labels is None:  # a set whose labels cannot be read
                names = [name for name in names if not registered.is_conditional(name)]
            self._check_sample_counts(names)
            return names
        names = list(dict.fromkeys(str(m) for m in metrics))
        if not names:
            raise UserError("metrics=[] names no metric; give some, or metrics=null for the defaults")
        what = f"data={self.name} ({self.kind.describe})"
        valid_here = [entry.name for entry in METRICS if self.kind.name in entry.kinds]
        for name in names:
            entry = METRICS.get(name)
            if self.kind.name not in entry.kinds:
                raise UserError(
                    f"metrics={name} does not apply to {what}; valid here: {', '.join(valid_here)}"
                )
            if entry.needs == "classes" and self.extractor.n_classes == 0:
                raise UserError(
                    f"metrics={name} counts the data set's own classes: it needs features=classifier "
                    f"(features={self.features} has other classes)"
                )
            if registered.is_conditional(name):
                self._check_conditional(name, conditional)
            accepts = entry.facts.get("accepts")
            if accepts is not None and networks is not None and not accepts(dict(networks)):
                raise UserError(
                    f"metrics={name} needs a VAE's encoder (a model=vae checkpoint); this model has "
                    f"{', '.join(['the generator', *networks])}"
                )
        self._check_sample_counts(names)
        return names

    def _check_conditional(self, name: str, conditional: bool) -> None:
        registered.refuse_conditional([name], conditional)
        if self.real is None or self.real.labels is None:
            raise UserError(
                f"metrics={name} needs the real images' class labels and data={self.name} has none "
                "that can be read"
            )

    def _check_sample_counts(self, names: list[str]) -> None:
        """Refused here, before any sample is generated (or a training run's first step), rather
        than when the metric is computed."""
        from gan_cli.metrics.precision_recall import K

        count = min(self.n, self.n_real) if self.kind.compared_by_features else self.n
        if "pr" in names and count <= K:
            raise UserError(
                f"metrics=pr needs more than {K} samples in each set (its k-NN radii use k={K}); "
                f"n={self.n} gives {count}: raise n (gan eval) or trainer.eval_n (gan train)"
            )
        if "intra_fid" in names and self.real is not None and self.real.labels is not None:
            self._check_class_counts()

    def _check_class_counts(self) -> None:
        """intra_fid compares each class on its own: every class of the real sample needs 2 real
        and 2 generated images (the generated ones follow the split's frequencies)."""
        import torch

        from gan_cli.metrics.classes import proportional_counts

        real = torch.bincount(self.real.labels, minlength=self.n_classes)
        counts = self.class_counts if self.class_counts is not None else torch.ones(self.n_classes)
        fake = proportional_counts(counts, self.n)
        for label in torch.nonzero(real).flatten().tolist():
            if min(int(real[label]), int(fake[label])) < 2:
                raise UserError(
                    f"metrics=intra_fid needs at least 2 real and 2 generated images of every class; "
                    f"n={self.n} gives class {label} {int(real[label])} real and {int(fake[label])} "
                    "generated: raise n (gan eval) or trainer.eval_n (gan train)"
                )

    def generated_labels(self, generator: nn.Module, seed: int) -> Tensor | None:
        """The labels a conditional G is asked for: int64 (n,), the real split's class frequencies
        (proportional_counts) in an order shuffled from the seed; classes in turn where the split's
        labels are unknown. None for a G that takes no labels."""
        import torch

        from gan_cli.metrics.classes import proportional_labels
        from gan_cli.models import contract

        if not contract.takes_labels(generator):
            return None
        n_classes = contract.n_classes(generator)
        if self.n_classes and n_classes != self.n_classes:
            raise UserError(
                f"the generator takes {n_classes} classes and data={self.name} has {self.n_classes}: "
                "evaluate it against the data it was trained on"
            )
        if self.class_counts is None:
            return torch.arange(self.n) % n_classes
        return proportional_labels(self.class_counts, self.n, label_seed(seed))

    def _generated(self, generator: nn.Module, seed: int, labels: Tensor | None = None) -> Iterator[Tensor]:
        """G's n samples, float32 on the CPU, a batch at a time (latents through the contract;
        labels: one per sample for a conditional G)."""
        from gan_cli import sampling

        step = sampling.step_size(self.batch_size)
        device = module_device(generator, self.device)
        first = 0
        for z in sampling.latent_batches(seed, self.n, generator, step):
            part = None if labels is None else labels[first : first + z.shape[0]]
            out = sampling.forward(generator, z, device, first, part)
            first += z.shape[0]
            if tuple(out.shape[1:]) != self.shape:
                raise UserError(
                    f"the generator makes samples of shape {tuple(out.shape[1:])} and data={self.name} "
                    f"has {self.shape}: evaluate it against the data it was trained on"
                )
            yield out

    def evaluate(
        self,
        generator: nn.Module,
        metrics: Sequence[str] | None = None,
        seed: int = 0,
        networks: Mapping[str, nn.Module] | None = None,
    ) -> dict[str, float]:
        """{result key: value} for G's n samples (None: the default metrics, with the conditional
        ones for a G that takes labels, and those of `networks`, the recipe's other networks by
        name). G is put in eval mode for the duration and given back in the mode it was in. A
        conditional G gets generated_labels(G, seed)."""
        from gan_cli.models import contract

        names = self.resolve_metrics(metrics, contract.takes_labels(generator), networks or {})
        labels = self.generated_labels(generator, seed)
        was_training = generator.training
        generator.eval()
        try:
            description = f"generating {self.n:,} {self.kind.describe}"
            model = {"generator": generator, "networks": dict(networks or {})}
            return self._score(
                self._generated(generator, seed, labels), names, seed, description, labels, model
            )
        finally:
            generator.train(was_training)

    def evaluate_samples(
        self,
        samples: Tensor | Iterable[Tensor],
        metrics: Sequence[str] | None = None,
        seed: int = 0,
        labels: Tensor | None = None,
    ) -> dict[str, float]:
        """The same for samples made elsewhere: a tensor (N, *shape) or batches of them, images in
        [-1, 1] (e.g. `gan sample format=npy` output, or real images for a real-vs-real floor).
        labels: the class each sample was asked for (e.g. its .labels.npy), for the conditional
        metrics."""
        import torch

        names = self.resolve_metrics(metrics, labels is not None, networks={})
        batches = samples.split(self.batch_size) if isinstance(samples, torch.Tensor) else samples
        labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64)
        return self._score(iter(batches), names, seed, "scoring the samples", labels)

    def _context(
        self, batches: Iterator[Tensor], seed: int, labels: Tensor | None = None
    ) -> registered.Context:
        """What the metrics are computed from: the generated set's features (compared with the
        real ones) and the labels they were asked for, or the samples themselves with the real
        source."""
        import torch

        if not self.kind.compared_by_features:
            samples = torch.cat(list(batches))
            return registered.Context(None, None, 0, seed, samples=samples, source=self.source)
        fake = extract(self.extractor, (self.extractor.encode(batch) for batch in batches))  # clamps too
        if fake.features.shape[0] < 2:
            raise UserError(f"{fake.features.shape[0]} sample(s) to score: the metrics need at least 2")
        if labels is not None:
            if labels.shape[0] != fake.features.shape[0]:
                raise UserError(
                    f"{labels.shape[0]} labels for {fake.features.shape[0]} samples: "
                    "give one label per sample"
                )
            fake.labels = labels.to("cpu", torch.int64)
        return registered.Context(self.real, fake, self.extractor.n_classes, seed, class_ids=self.class_ids)

    def _score(
        self,
        batches: Iterator[Tensor],
        names: list[str],
        seed: int,
        description: str,
        labels: Tensor | None = None,
        model: dict[str, Any] | None = None,
    ) -> dict[str, float]:
        started = time.perf_counter()
        with self._bar(description, math.ceil(self.n / self.batch_size)) as bar:
            context = self._context(bar.iterate(batches), seed, labels)
        if model is not None:  # what the likelihood metrics read (metrics.Context)
            context.generator, context.networks = model["generator"], model["networks"]
            context.real_images, context.nll_k = self.real_images, self.nll_k
            context.batch_size = self.batch_size
        # Where the time of the last evaluation went (generating and extracting; each metric).
        self.timings = {"samples_s": time.perf_counter() - started}
        results: dict[str, float] = {}
        for name in names:
            started = time.perf_counter()
            results.update(registered.compute(name, context))
            self.timings[f"{name}_s"] = time.perf_counter() - started
        return results


# The labels' order is shuffled from a stream of its own: mixed from (seed, a tag), so it is not
# the latents' stream `seed` (numpy's SeedSequence, as gan_cli.sampling.sample_seed mixes).
LABEL_STREAM_TAG = 0x4C41424C  # "LABL"


def label_seed(seed: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([int(seed), LABEL_STREAM_TAG]).generate_state(1)[0])


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

    target = module_device(generator, torch.device("cpu")) if device is None else device
    evaluator = get_evaluator(data_cfg, features, split, n, target, batch_size)
    return evaluator.evaluate(generator, metrics, seed)
