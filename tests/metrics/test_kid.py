"""KID: the unbiased MMD^2 estimate (Bińkowski et al. 2018) under k(x, y) = (x.y / d + 1)^3."""

import itertools

import pytest
import torch

from gan_cli.metrics.kid import kernel_inception_distance


def kernel(a, b, d):
    return (sum(p * q for p, q in zip(a, b, strict=True)) / d + 1) ** 3


def mmd2_by_hand(x, y) -> float:
    """Sum over distinct pairs within each set, all pairs across: the unbiased estimator."""
    m, d = len(x), len(x[0])
    within = sum(
        kernel(x[i], x[j], d) + kernel(y[i], y[j], d) for i, j in itertools.permutations(range(m), 2)
    )
    across = sum(kernel(a, b, d) for a in x for b in y)
    return within / (m * (m - 1)) - 2 * across / m**2


X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
Y = [[2.0, 0.0], [0.0, -1.0], [0.5, 0.5]]


def test_a_subset_of_the_whole_set_is_the_hand_computed_estimator():
    # With subset_size = n every subset is the whole set (in some order): no sampling noise.
    mean, std = kernel_inception_distance(
        torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64), subsets=5, subset_size=3
    )
    assert mean == pytest.approx(mmd2_by_hand(X, Y), rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_subset_size_is_capped_at_the_smaller_set():
    mean, _ = kernel_inception_distance(torch.tensor(X), torch.tensor(Y), subsets=3)
    assert mean == pytest.approx(mmd2_by_hand(X, Y), rel=1e-5)


def test_same_distribution_is_near_zero_and_different_is_not():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 16, generator=generator), torch.randn(400, 16, generator=generator)
    same, same_std = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    different, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 3 * same_std < 1.0 < different


def test_seeded_and_leaves_the_global_rng_alone():
    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(100, 4, generator=generator), torch.randn(120, 4, generator=generator)
    state = torch.get_rng_state()
    first = kernel_inception_distance(a, b, subsets=10, subset_size=50, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert kernel_inception_distance(a, b, subsets=10, subset_size=50, seed=7) == first
    assert kernel_inception_distance(a, b, subsets=10, subset_size=50, seed=8) != first
