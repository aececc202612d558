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


def conditioning_accuracy(probs: Tensor, labels: Tensor) -> float:
    """The share of samples whose predicted (argmax) class is the class they were asked for."""
    predicted = probs.detach().cpu().argmax(dim=1)
    labels = labels.detach().cpu().to(torch.int64)
    if predicted.shape != labels.shape:
        raise ValueError(
            f"one label per sample: {tuple(labels.shape)} labels for {predicted.shape[0]} samples"
        )
    return float((predicted == labels).double().mean())


def proportional_counts(counts: Tensor, n: int) -> Tensor:
    """n split over the classes in proportion to counts (largest remainders get the rest; ties go to
    the lower class): int64 (classes,) summing to n. Equal counts and n a multiple: equal shares."""
    counts = counts.detach().cpu().to(torch.float64)
    if counts.sum() <= 0:
        counts = torch.ones_like(counts)
    quotas = n * counts / counts.sum()
    shares = quotas.floor().to(torch.int64)
    left = n - int(shares.sum())
    if left:
        # a stable sort of the remainders, largest first: equal remainders keep the class order
        order = torch.sort(-(quotas - shares), stable=True).indices
        shares[order[:left]] += 1
    return shares


def proportional_labels(counts: Tensor, n: int, seed: int) -> Tensor:
    """int64 (n,) labels following the class frequencies counts: proportional_counts of each class,
    in an order shuffled by a generator of its own seeded from seed (never the global RNG)."""
    shares = proportional_counts(counts, n)
    labels = torch.repeat_interleave(torch.arange(shares.shape[0]), shares)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    return labels[order]
