"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate
of the squared MMD between real and generated features under the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets, with its standard deviation.

Unlike FID it is unbiased in the number of samples, so values from different n compare. The math
is torchmetrics' KernelInceptionDistance, fed already extracted features.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gan_cli.metrics.fid import FeaturesAsInput, _check

SUBSETS = 100
SUBSET_SIZE = 1000


def kernel_inception_distance(
    real: Tensor, fake: Tensor, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `subsets` draws of `subset_size` rows of each set.

    subset_size is capped at the smaller set. The subsets are drawn from a seeded RNG that is
    forked, so the caller's RNG stream (a training run's) does not move.
    """
    import warnings

    from torchmetrics.image.kid import KernelInceptionDistance

    _check(real, fake, 2, "KID")
    size = min(subset_size, real.shape[0], fake.shape[0])
    with warnings.catch_warnings():
        # It warns that it keeps every feature in memory: that is the point here (they are cached).
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(
            feature=FeaturesAsInput(real.shape[1]), subsets=subsets, subset_size=size, normalize=False
        )
    # float32 unless given float64: 300 kernel matrices of 1000 x 1000 cost four times as much in
    # float64, and the averages of a million kernel values lose nothing that matters in float32.
    dtype = torch.float64 if torch.float64 in (real.dtype, fake.dtype) else torch.float32
    metric.update(real.detach().to("cpu", dtype), real=True)
    metric.update(fake.detach().to("cpu", dtype), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)
