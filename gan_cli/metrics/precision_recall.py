"""Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
for Assessing Generative Models"), written here because torchmetrics has no version of it that
takes features and reuses the real set's radii.

Each feature set approximates its manifold by the union of balls around its points, each ball's
radius being the distance to the point's k-th nearest neighbour in its own set (k = 3 in the paper):

    precision = share of generated points inside the real manifold   (quality)
    recall    = share of real points inside the generated manifold   (diversity)

Distances are computed a chunk of rows at a time, so 50,000 x 50,000 pairs never sit in memory.
"""

from __future__ import annotations

import torch
from torch import Tensor

K = 3
CHUNK_ROWS = 1024


def _distances(rows: Tensor, points: Tensor) -> Tensor:
    return torch.cdist(rows.float(), points.float())


def knn_radii(features: Tensor, k: int = K, chunk: int = CHUNK_ROWS) -> Tensor:
    """(n,): each point's distance to its k-th nearest neighbour among the other points."""
    features = features.detach().cpu()
    n = features.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k-NN radii need 1 <= k < n points, got k={k} with n={n}")
    radii = []
    for start in range(0, n, chunk):
        block = _distances(features[start : start + chunk], features)
        # The (k+1)-th smallest: the point's own distance 0 comes first. (topk of a few is about
        # twice as fast as kthvalue over rows of 10,000.)
        radii.append(block.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def precision_recall(
    real: Tensor,
    fake: Tensor,
    k: int = K,
    real_radii: Tensor | None = None,
    fake_radii: Tensor | None = None,
    chunk: int = CHUNK_ROWS,
) -> tuple[float, float]:
    """(precision, recall) of fake (m, d) against real (n, d); radii are computed when not given."""
    real, fake = real.detach().cpu(), fake.detach().cpu()
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"need two (n, d) feature sets of one d, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    real_radii = knn_radii(real, k, chunk) if real_radii is None else real_radii.detach().cpu().float()
    fake_radii = knn_radii(fake, k, chunk) if fake_radii is None else fake_radii.detach().cpu().float()
    fake_inside = torch.zeros(fake.shape[0], dtype=torch.bool)
    real_inside = torch.zeros(real.shape[0], dtype=torch.bool)
    # One pass over the fake-real distances answers both questions.
    for start in range(0, fake.shape[0], chunk):
        block = _distances(fake[start : start + chunk], real)  # (rows of fake, all real)
        fake_inside[start : start + chunk] = (block <= real_radii[None, :]).any(dim=1)
        real_inside |= (block <= fake_radii[start : start + chunk, None]).any(dim=0)
    return float(fake_inside.double().mean()), float(real_inside.double().mean())
