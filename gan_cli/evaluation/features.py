"""Feature sets: what an extractor makes of a set of images, and what the metrics derive from it.

The real set's features are computed once per (data set, split, extractor, n) and cached on disk
under <data.root>/gan_cli_cache/ (gan_cli.metrics.cache), with their k-NN radii and class
histogram, so a second evaluation costs only the generated samples' features. The real images'
labels (for per-class metrics) are read with the images each time, not cached: the cache format is
unchanged and the caches written before labels existed stay valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    from torch import Tensor

    from gan_cli.outputs.progress import Bar


@dataclass
class FeatureSet:
    """Features of one set of images, and what the metrics derive from them (computed once)."""

    features: Tensor
    probs: Tensor | None
    radii: Tensor | None = None  # k-NN radii for precision/recall
    class_counts: Tensor | None = None  # histogram of predicted classes
    # int64 (n,) class labels: a real set's own (kept beside its features, not in the cache: they
    # come with the images), a conditional generator's requested ones; None where there are none
    labels: Tensor | None = None

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


def extract(extractor: Any, images_u8: Iterable[Tensor]) -> FeatureSet:
    """The features (and class probabilities) of uint8 image batches."""
    import torch

    chunks = [extractor(batch) for batch in images_u8]
    probs = [p for _, p in chunks]
    return FeatureSet(torch.cat([f for f, _ in chunks]), torch.cat(probs) if probs[0] is not None else None)


def real_features(
    extractor: Any,
    images_u8: Tensor,
    data_cfg: dict[str, Any],
    split: str,
    batch_size: int,
    bar: Callable[[str, int], Bar],
    labels: Tensor | None = None,
) -> FeatureSet:
    """The real images' feature set, from the cache when it holds exactly these images' features;
    else extracted (a progress bar) and cached, with the radii and class histogram. labels: the
    images' own classes, kept in the returned set (FeatureSet.labels)."""
    import torch

    real = _real_features(extractor, images_u8, data_cfg, split, batch_size, bar)
    real.labels = None if labels is None else labels.detach().to("cpu", torch.int64)
    return real


def _real_features(
    extractor: Any,
    images_u8: Tensor,
    data_cfg: dict[str, Any],
    split: str,
    batch_size: int,
    bar: Callable[[str, int], Bar],
) -> FeatureSet:
    from gan_cli.metrics import cache
    from gan_cli.metrics.classes import class_histogram
    from gan_cli.metrics.precision_recall import K

    name, n_real = data_cfg.get("name"), images_u8.shape[0]
    key = cache.digest(
        {
            "data": cache.data_identity(data_cfg),
            "split": split,
            "extractor": extractor.ident,
            "n": n_real,
            "k": K,
            "images": cache.digest(images_u8.cpu().numpy().tobytes()),
        }
    )
    path = cache.folder(data_cfg) / f"real-{name}-{split}-{extractor.name}-n{n_real}-{key}.pt"
    payload = cache.load(path)
    if payload is not None and payload.get("key") == key:
        return FeatureSet(
            payload["features"], payload.get("probs"), payload.get("radii"), payload.get("class_counts")
        )
    with bar(f"features of {n_real:,} real images", math.ceil(n_real / batch_size)) as progress:
        real = extract(extractor, progress.iterate(images_u8.split(batch_size)))
    if n_real > K:
        real.knn_radii()
    if real.probs is not None and extractor.n_classes > 0:
        real.class_counts = class_histogram(real.probs, extractor.n_classes)
    cache.save(
        {
            "key": key,
            "data": name,
            "split": split,
            "extractor": extractor.ident,
            "n": n_real,
            "features": real.features,
            "probs": real.probs,
            "radii": real.radii,
            "class_counts": real.class_counts,
        },
        path,
    )
    return real
