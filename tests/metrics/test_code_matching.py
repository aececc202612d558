"""The categorical code's accuracy after the best one-to-one matching of codes to classes."""

import pytest
import torch

from gan_cli.metrics.code_matching import best_matching, contingency, matched_accuracy


def test_a_permutation_of_the_classes_is_matched_back_to_accuracy_one():
    classes = torch.arange(10).repeat(7)
    permutation = torch.tensor([3, 7, 0, 9, 1, 8, 2, 6, 4, 5])
    codes = permutation[classes]  # code of class c: permutation[c]
    assert matched_accuracy(codes, classes) == 1.0
    assert best_matching(contingency(codes, classes)) == {int(permutation[c]): c for c in range(10)}


def test_the_matching_is_one_to_one_and_counts_what_it_cannot_match_as_misses():
    # codes 0 and 1 both mostly show class 0: only one of them can be matched to it
    codes = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    classes = torch.tensor([0, 0, 1, 0, 0, 1, 2, 2])
    table = contingency(codes, classes, 3, 3)
    assert table.tolist() == [[2, 1, 0], [2, 1, 0], [0, 0, 2]]
    # best: one of codes 0/1 -> class 0 (2 hits), the other -> class 1 (1 hit), code 2 -> class 2 (2 hits)
    assert matched_accuracy(codes, classes) == pytest.approx(5 / 8)
    # more codes than classes: the fourth code's samples are misses
    assert matched_accuracy(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 2]), 4, 3) == 0.75


def test_random_codes_score_about_chance():
    generator = torch.Generator().manual_seed(0)
    codes = torch.randint(10, (5000,), generator=generator)
    classes = torch.randint(10, (5000,), generator=generator)
    assert matched_accuracy(codes, classes, 10, 10) < 0.15


def test_codes_and_classes_must_pair_up():
    with pytest.raises(ValueError, match="one of each per sample"):
        matched_accuracy(torch.zeros(3, dtype=torch.int64), torch.zeros(4, dtype=torch.int64))
