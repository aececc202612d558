"""How well an unsupervised categorical code matches the data's classes: the accuracy after the best
one-to-one matching of codes to classes (the clustering accuracy InfoGAN reports for its digit
code, Chen et al. 2016, sec. 7.1: 5% error on MNIST).

The matching maximizes the number of samples whose code is matched to the class they were given
(a classifier's prediction for generated images): the Hungarian method on the code x class count
table (Kuhn 1955; scipy.optimize.linear_sum_assignment). With more codes than classes (or fewer)
only min(codes, classes) pairs are matched and the samples of the other codes count as misses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def contingency(codes: Tensor, classes: Tensor, n_codes: int | None = None, n_classes: int | None = None):
    """int64 (n_codes, n_classes): how many samples of each code were given each class."""
    import torch

    codes, classes = codes.reshape(-1).long().cpu(), classes.reshape(-1).long().cpu()
    if codes.shape != classes.shape:
        raise ValueError(f"{codes.shape[0]} codes for {classes.shape[0]} classes: one of each per sample")
    rows = int(n_codes or (int(codes.max()) + 1 if codes.numel() else 0))
    columns = int(n_classes or (int(classes.max()) + 1 if classes.numel() else 0))
    table = torch.zeros(rows * columns, dtype=torch.int64)
    table.index_add_(0, codes * columns + classes, torch.ones_like(codes))
    return table.view(rows, columns)


def best_matching(table) -> dict[int, int]:
    """code -> class of the one-to-one matching that puts the most samples on the diagonal."""
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(table.numpy(), maximize=True)
    return {int(r): int(c) for r, c in zip(rows, columns, strict=True)}


def matched_accuracy(
    codes: Tensor, classes: Tensor, n_codes: int | None = None, n_classes: int | None = None
) -> float:
    """The share of samples whose code's matched class is their class (best_matching), in [0, 1]."""
    table = contingency(codes, classes, n_codes, n_classes)
    total = int(table.sum())
    if total == 0:
        raise ValueError("no samples to match")
    hits = sum(int(table[code, cls]) for code, cls in best_matching(table).items())
    return hits / total
