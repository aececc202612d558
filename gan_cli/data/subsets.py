"""Subsets of an image data set: `data.classes=[...]` keeps those classes, `data.limit=N` the first
N images after a shuffle seeded by `data.subset_seed`. The one place that decides which examples a
run uses; every image data set's builder calls it (on its label tensor, or on a folder's file list
before anything is decoded).

Labels are renumbered: the i-th class listed in data.classes becomes label i (data.classes=[7,3]:
7 -> 0, 3 -> 1), so a conditional model has exactly len(data.classes) classes. The original class
of each new label is kept (`Subset.class_ids`) for metrics whose classifier knows the full set.
data.limit applies to the training images: a test split (data.split=test, what the metrics compare
with) keeps every image of the chosen classes. The classes are filtered first, then the limit.
torch is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Subset:
    """What a data set's subset keys asked for and what they kept."""

    classes: tuple[int, ...] | None  # original class ids, in the order given (None: every class)
    limit: int | None
    seed: int
    total: int  # images before the subset
    kept: int  # images after it
    n_classes_before: int  # the full set's classes

    @property
    def class_ids(self) -> tuple[int, ...] | None:
        """Original class of each new label (label i was class class_ids[i])."""
        return self.classes

    def describe(self) -> str:
        """For the run's banner: what was kept of what."""
        parts = []
        if self.classes is not None:
            mapping = ", ".join(f"{c}->{i}" for i, c in enumerate(self.classes))
            parts.append(f"classes {mapping} of {self.n_classes_before}")
        if self.limit is not None:
            parts.append(f"limit {self.limit:,} (seed {self.seed})")
        return f"{self.kept:,} of {self.total:,} images: " + "; ".join(parts)


def requested(cfg: Any) -> tuple[tuple[int, ...] | None, int | None, int]:
    """(classes, limit, seed) from a data config (absent keys: no subset)."""
    classes = _get(cfg, "classes")
    limit = _get(cfg, "limit")
    seed = _get(cfg, "subset_seed") or 0
    if classes is not None:
        classes = list(classes)
        if not classes:
            raise UserError(
                "data.classes=[] keeps no class; list some, e.g. data.classes=[0,1], or null for all"
            )
        if any(isinstance(c, bool) or not isinstance(c, int) for c in classes):
            raise UserError(f"data.classes={classes} is not valid: a list of class numbers, e.g. [0,1]")
        if len(set(classes)) != len(classes):
            raise UserError(f"data.classes={classes} names a class twice; list each once")
        classes = tuple(int(c) for c in classes)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"data.limit={limit!r} is out of range: an integer >= 1, or null for every image")
    return classes, limit, int(seed)


def is_subset(cfg: Any) -> bool:
    classes, limit, _ = requested(cfg)
    return classes is not None or limit is not None


def _get(cfg: Any, key: str) -> Any:
    if isinstance(cfg, dict):
        return cfg.get(key)
    return getattr(cfg, key, None)


def choose(
    labels: torch.Tensor | None, n_classes: int, cfg: Any, limit_applies: bool = True, what: str = "data"
) -> tuple[torch.Tensor | None, torch.Tensor | None, Subset | None]:
    """(indices to keep, ascending, int64; their renumbered labels; the Subset) for the examples of
    `labels` (int64 (N,); n_classes 0: a set without labels, which data.classes cannot take).
    limit_applies: False for a test split. None, None, None when nothing is to be left out."""
    import torch

    classes, limit, seed = requested(cfg)
    if classes is None and (limit is None or not limit_applies):
        return None, None, None
    count = int(labels.shape[0])
    index = torch.arange(count)
    new_labels = labels
    if classes is not None:
        if labels is None or n_classes <= 0:
            raise UserError(
                f"data.classes={list(classes)}: {what} has no class labels"
                " (a folder needs class subfolders); drop data.classes"
            )
        outside = [c for c in classes if not 0 <= c < n_classes]
        if outside:
            raise UserError(
                f"data.classes={list(classes)} is out of range: {what} has classes 0 to {n_classes - 1}"
            )
        lookup = torch.full((n_classes,), -1, dtype=torch.int64)
        lookup[list(classes)] = torch.arange(len(classes))
        mapped = lookup[labels.to("cpu", torch.int64)]
        index = torch.nonzero(mapped >= 0).flatten()
        new_labels = mapped[index]
    if limit is not None and limit_applies and index.shape[0] > limit:
        order = torch.randperm(index.shape[0], generator=torch.Generator().manual_seed(seed))[:limit]
        order = order.sort().values
        index = index[order]
        new_labels = None if new_labels is None else new_labels[order]
    if index.shape[0] == 0:
        raise UserError(f"data.classes={list(classes)} keeps no image of {what}")
    subset = Subset(classes, limit if limit_applies else None, seed, count, int(index.shape[0]), n_classes)
    return index, new_labels, subset


def take_tensors(
    images: torch.Tensor,
    labels: torch.Tensor | None,
    n_classes: int,
    cfg: Any,
    limit_applies: bool = True,
    what: str = "data",
) -> tuple[torch.Tensor, torch.Tensor | None, int, Subset | None]:
    """An in-memory set's (images, labels, n_classes, subset) after data.classes / data.limit."""
    import torch

    if labels is None:
        labels_for_choice = torch.zeros(images.shape[0], dtype=torch.int64)
        index, _, subset = choose(labels_for_choice, 0, cfg, limit_applies, what)
        if index is None:
            return images, labels, n_classes, None
        return images[index.to(images.device)], None, n_classes, subset
    index, new_labels, subset = choose(labels, n_classes, cfg, limit_applies, what)
    if index is None:
        return images, labels, n_classes, None
    kept_classes = len(subset.classes) if subset.classes is not None else n_classes
    return images[index.to(images.device)], new_labels, kept_classes, subset


def take_list(
    items: Sequence[Any], labels: Sequence[int] | None, n_classes: int, cfg: Any, what: str = "data"
) -> tuple[list[Any], list[int] | None, int, Subset | None]:
    """A file list's (items, labels, n_classes, subset): the same choice as take_tensors, made
    before the files are decoded."""
    import torch

    tensor = torch.as_tensor(list(labels) if labels is not None else [0] * len(items), dtype=torch.int64)
    index, new_labels, subset = choose(tensor, n_classes if labels is not None else 0, cfg, True, what)
    if index is None:
        return list(items), None if labels is None else list(labels), n_classes, None
    kept = [items[i] for i in index.tolist()]
    if labels is None:
        return kept, None, n_classes, subset
    kept_classes = len(subset.classes) if subset.classes is not None else n_classes
    return kept, new_labels.tolist(), kept_classes, subset
