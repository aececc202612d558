"""Class coverage and the Inception-style score on hand-made class probabilities."""

import math

import pytest
import torch

from gan_cli.metrics.classes import class_coverage, class_histogram, classifier_score


def one_hot(classes: list[int], n_classes: int = 10) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(classes), n_classes).float()


def test_confident_and_even_over_ten_classes_scores_ten():
    assert classifier_score(one_hot(list(range(10)) * 5)) == pytest.approx(10.0)


def test_one_class_or_no_confidence_scores_one():
    assert classifier_score(one_hot([3] * 20)) == pytest.approx(1.0)
    assert classifier_score(torch.full((20, 10), 0.1)) == pytest.approx(1.0)


def test_score_by_hand_on_soft_probabilities():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    marginal = probs.mean(0)
    kl = [
        sum(p * math.log(p / q) for p, q in zip(row.tolist(), marginal.tolist(), strict=True))
        for row in probs
    ]
    assert classifier_score(probs) == pytest.approx(math.exp(sum(kl) / 2))


def test_score_agrees_with_torch_fidelity_without_splits():
    metric_isc = pytest.importorskip("torch_fidelity.metric_isc")
    probs = torch.softmax(torch.randn(64, 10, generator=torch.Generator().manual_seed(0)) * 3, dim=1)
    # torch-fidelity takes logits; log-probabilities are logits whose softmax is probs.
    theirs = metric_isc.isc_features_to_metric(probs.log(), splits=1, shuffle=False)
    assert classifier_score(probs) == pytest.approx(theirs["inception_score_mean"], rel=1e-5)


def test_histogram_counts_predicted_classes():
    probs = torch.tensor([[0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2]])
    assert class_histogram(probs, 3).tolist() == [2.0, 1.0, 1.0]


def test_even_generation_covers_every_class_with_zero_kl():
    real = torch.full((10,), 100.0)
    covered, kl = class_coverage(one_hot(list(range(10)) * 3), real)
    assert covered == 10 and kl == pytest.approx(0.0, abs=1e-12)


def test_collapse_onto_one_class():
    covered, kl = class_coverage(one_hot([4] * 30), torch.full((10,), 100.0))
    assert covered == 1 and kl == pytest.approx(math.log(10))  # KL(delta || uniform over 10)


def test_a_class_with_a_few_stray_samples_is_not_covered():
    # 96 of class 0, 4 of class 1 against a 50/50 real split: class 1 has 8% of its real share,
    # under the 10% that counts.
    fake = one_hot([0] * 96 + [1] * 4, 2)
    covered, kl = class_coverage(fake, torch.tensor([50.0, 50.0]))
    assert covered == 1
    assert kl == pytest.approx(0.96 * math.log(0.96 / 0.5) + 0.04 * math.log(0.04 / 0.5))
    assert class_coverage(fake, torch.tensor([50.0, 50.0]), min_share=0.05)[0] == 2


def test_a_class_the_real_set_never_shows_keeps_the_kl_finite():
    covered, kl = class_coverage(one_hot([0, 2], 3), torch.tensor([10.0, 10.0, 0.0]))
    assert covered == 2 and math.isfinite(kl)
