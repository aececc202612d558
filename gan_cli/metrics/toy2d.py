"""The standard mode-coverage metrics for 2D mixtures of Gaussians.

As used by Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) on ring and grid sets:
- a sample is *high quality* when it lies within 3 standard deviations of its nearest mode;
- a mode is *captured* when at least one high-quality sample lies near it;
- the KL divergence of the histogram of nearest modes (over all samples) to the uniform one.
"""

import torch
from torch import Tensor


def nearest_modes(points: Tensor, modes: Tensor) -> tuple[Tensor, Tensor]:
    """(index of the nearest mode, distance to it) for each point."""
    distances = torch.cdist(points.float(), modes.float())
    distance, index = distances.min(dim=1)
    return index, distance


def mode_metrics(points: Tensor, modes: Tensor, std: float) -> dict[str, float]:
    points, modes = points.detach().float().cpu(), modes.float().cpu()
    index, distance = nearest_modes(points, modes)
    high_quality = distance <= 3 * std
    n_modes = modes.shape[0]
    captured = torch.bincount(index[high_quality], minlength=n_modes) > 0
    histogram = torch.bincount(index, minlength=n_modes).double()
    probs = histogram / histogram.sum()
    nonzero = probs > 0
    kl = float((probs[nonzero] * torch.log(probs[nonzero] * n_modes)).sum())
    return {
        "modes_captured": int(captured.sum()),
        "high_quality_pct": 100.0 * float(high_quality.double().mean()),
        "kl_uniform": kl,
    }
