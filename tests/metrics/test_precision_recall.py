"""Improved precision and recall (Kynkäänniemi et al. 2019) on hand-made point sets."""

import pytest
import torch

from gan_cli.metrics.precision_recall import knn_radii, precision_recall


def cluster(center: float, count: int = 20, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return center + 0.1 * torch.randn(count, 3, generator=generator)


def test_radii_are_the_distance_to_the_kth_other_point():
    points = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # k=1: nearest other point; k=2: second nearest
    assert knn_radii(points, k=1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(points, k=2).tolist() == [3.0, 2.0, 3.0, 6.0]
    with pytest.raises(ValueError):
        knn_radii(points, k=4)


def test_identical_sets_are_one_and_one():
    points = cluster(0.0, 50)
    assert precision_recall(points, points.clone()) == (1.0, 1.0)


def test_disjoint_far_sets_are_zero_and_zero():
    assert precision_recall(cluster(0.0), cluster(100.0, seed=1)) == (0.0, 0.0)


def test_generating_one_of_two_modes_is_precise_but_half_recalled():
    real = torch.cat([cluster(0.0, seed=0), cluster(50.0, seed=1)])
    fake = cluster(0.0, seed=2)  # a different draw of the first mode only
    precision, recall = precision_recall(real, fake)
    assert precision == pytest.approx(1.0, abs=0.1)
    assert recall == pytest.approx(0.5, abs=0.05)


def test_hand_made_precision_and_recall():
    # real at 0, 1, 2, 3 (k=1 radii 1, 1, 1, 1); fake at 0.5 and 10 (k=1 radius 9.5 each).
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == 0.5  # 0.5 lies in a real ball, 10 in none
    assert recall == 1.0  # every real point lies within 9.5 of 0.5


def test_chunking_and_given_radii_do_not_change_the_answer():
    generator = torch.Generator().manual_seed(3)
    real, fake = torch.randn(300, 5, generator=generator), torch.randn(250, 5, generator=generator) + 0.3
    whole = precision_recall(real, fake)
    assert precision_recall(real, fake, chunk=7) == whole
    assert precision_recall(real, fake, real_radii=knn_radii(real), fake_radii=knn_radii(fake)) == whole


def test_agrees_with_torch_fidelity():
    metric_prc = pytest.importorskip("torch_fidelity.metric_prc")
    generator = torch.Generator().manual_seed(4)
    real, fake = (
        torch.randn(400, 8, generator=generator),
        1.2 * torch.randn(300, 8, generator=generator) + 0.2,
    )
    # torch-fidelity takes the generated set first.
    theirs = metric_prc.calculate_precision_recall_part(fake, real, neighborhood=3, batch_size=128)
    ours = precision_recall(real, fake, k=3)
    assert ours == pytest.approx(tuple(float(v) for v in theirs), abs=1e-6)  # theirs: float32
