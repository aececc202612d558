"""Metrics on a classifier's class probabilities p(y|x) of generated images.

- score: exp(E_x KL(p(y|x) || p(y))), the Inception Score of Salimans et al. 2016 ("Improved
  Techniques for Training GANs"), computed over the whole set (no splits). High when each image is
  confidently one class and the classes are evenly used; between 1 and the number of classes.
  With a classifier trained on the data set itself it is the "classifier score" of the MNIST-family
  literature; with the Inception net it is the usual IS.
- coverage: the histogram of predicted classes of generated images against the real one: how many
  classes are covered and KL(generated || real) (the class-level analogue of the mode counts of
  Srivastava et al. 2017 and Lin et al. 2018, as the 2D metrics in toy2d.py do for mixtures).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# A class counts as covered when it gets at least this share of its real frequency: a collapsed
# generator still spills a few misclassified images into every class, and counting any single
# image would report full coverage for it.
MIN_SHARE = 0.1


def classifier_score(probs: Tensor) -> float:
    """exp of the mean KL between each row of probs (n, classes) and their mean."""
    p = probs.detach().to("cpu", torch.float64)
    marginal = p.mean(dim=0, keepdim=True)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, marginal)).sum(dim=1)
    return math.exp(float(kl.mean()))


def class_histogram(probs: Tensor, n_classes: int) -> Tensor:
    """Counts of the predicted (argmax) classes, float64 (n_classes,)."""
    predicted = probs.detach().cpu().argmax(dim=1)
    return torch.bincount(predicted, minlength=n_classes).double()


def class_coverage(
    fake_probs: Tensor, real_counts: Tensor, min_share: float = MIN_SHARE
) -> tuple[int, float]:
    """(classes covered, KL(generated histogram || real histogram)).

    real_counts: the real set's class histogram (class_histogram of the classifier on real images,
    so its confusions are the same on both sides). A class the real set never shows is given half a
    count, which keeps the KL finite when the generator produces it anyway.
    """
    real_counts = real_counts.detach().to("cpu", torch.float64).clamp_min(0.5)
    fake_counts = class_histogram(fake_probs, real_counts.shape[0])
    p_fake = fake_counts / fake_counts.sum()
    p_real = real_counts / real_counts.sum()
    covered = int(((p_fake > 0) & (p_fake >= min_share * p_real)).sum())
    kl = float((torch.special.xlogy(p_fake, p_fake) - torch.special.xlogy(p_fake, p_real)).sum())
    return covered, kl
