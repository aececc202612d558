"""Fréchet distance between two feature sets (Heusel et al. 2017, "GANs Trained by a Two
Time-Scale Update Rule Converge to a Local Nash Equilibrium"):

    FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

The math is torchmetrics' FrechetInceptionDistance, fed features that were already extracted: its
extractor is then the identity, which lets the same code score classifier, Inception or any other
features, and lets the caller cache the real features.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FeaturesAsInput(nn.Module):
    """The identity, posing as a torchmetrics feature extractor of `num_features` outputs."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def _check(real: Tensor, fake: Tensor, minimum: int, what: str) -> None:
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"{what} needs two (n, d) feature sets of one d, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    if real.shape[0] < minimum or fake.shape[0] < minimum:
        raise ValueError(
            f"{what} needs at least {minimum} samples per set, got {real.shape[0]} and {fake.shape[0]}"
        )


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between feature sets real (n, d) and fake (m, d), computed in float64."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    _check(real, fake, 2, "FID")
    metric = FrechetInceptionDistance(feature=FeaturesAsInput(real.shape[1]), normalize=False)
    # float64 throughout: with float32 the trace terms of nearly equal sets cancel to noise.
    metric.update(real.detach().to("cpu", torch.float64), real=True)
    metric.update(fake.detach().to("cpu", torch.float64), real=False)
    # A sum of square roots of eigenvalues can be a hair below zero for identical sets.
    return max(float(metric.compute()), 0.0)


def intra_class_fid(real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor) -> float:
    """Intra-class FID (Miyato & Koyama 2018, "cGANs with Projection Discriminator"): the mean over
    the classes of real_labels of frechet_distance(real of class c, fake of class c). Every class
    needs at least 2 samples in each set (ValueError otherwise, naming the class)."""
    real_labels, fake_labels = real_labels.detach().cpu(), fake_labels.detach().cpu()
    if real_labels.shape[0] != real.shape[0] or fake_labels.shape[0] != fake.shape[0]:
        raise ValueError("intra-class FID needs one label per feature row in each set")
    distances = []
    for label in torch.unique(real_labels).tolist():
        real_c, fake_c = real[real_labels == label], fake[fake_labels == label]
        if real_c.shape[0] < 2 or fake_c.shape[0] < 2:
            raise ValueError(
                f"intra-class FID needs at least 2 samples of each class per set; class {label} has "
                f"{real_c.shape[0]} real and {fake_c.shape[0]} generated"
            )
        distances.append(frechet_distance(real_c, fake_c))
    return float(sum(distances) / len(distances))
