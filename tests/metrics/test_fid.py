"""FID against its closed form: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))."""

import numpy as np
import pytest
import torch
from scipy import linalg

from gan_cli.metrics.fid import frechet_distance


def closed_form(x: np.ndarray, y: np.ndarray) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_identical_feature_sets_are_at_distance_zero():
    features = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(features, features.clone()) == pytest.approx(0.0, abs=1e-6)


def test_shifted_gaussians_match_the_closed_form_on_their_sample_statistics():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2000, 8, generator=generator, dtype=torch.float64)
    mixing = torch.randn(8, 8, generator=generator, dtype=torch.float64) * 0.3 + torch.eye(
        8, dtype=torch.float64
    )
    y = torch.randn(1500, 8, generator=generator, dtype=torch.float64) @ mixing + 2.0
    expected = closed_form(x.numpy(), y.numpy())
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)


def test_pure_shift_tends_to_the_squared_mean_difference():
    # Same covariance: the trace term vanishes and FID -> ||mu1 - mu2||^2 = 4 * 0.5^2 = 1 (from above:
    # sample noise only adds to a distance).
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(20000, 4, generator=generator)
    y = torch.randn(20000, 4, generator=generator) + 0.5
    assert frechet_distance(x, y) == pytest.approx(1.0, abs=0.05)


def test_it_is_symmetric_and_rejects_mismatched_sets():
    generator = torch.Generator().manual_seed(3)
    x, y = torch.randn(300, 5, generator=generator), torch.randn(200, 5, generator=generator) * 2
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)
    with pytest.raises(ValueError):
        frechet_distance(x, torch.randn(10, 4))
    with pytest.raises(ValueError):
        frechet_distance(x[:1], y)
