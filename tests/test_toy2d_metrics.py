import math

import pytest
import torch

from gan_cli.metrics.toy2d import mode_metrics

MODES = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_all_modes_hit_evenly():
    points = MODES.repeat(25, 1) + 0.001
    result = mode_metrics(points, MODES, std=0.01)
    assert result == {
        "modes_captured": 4,
        "high_quality_pct": 100.0,
        "kl_uniform": pytest.approx(0.0, abs=1e-12),
    }


def test_collapsed_onto_one_mode():
    points = torch.zeros(100, 2)
    result = mode_metrics(points, MODES, std=0.01)
    assert result["modes_captured"] == 1
    assert result["kl_uniform"] == pytest.approx(math.log(4))  # KL(delta || uniform over 4)


def test_far_samples_are_low_quality_and_capture_nothing():
    # 3 std = 0.03: a point 0.05 away is not high quality, so its mode is not captured.
    points = torch.tensor([[0.0, 0.0], [1.05, 0.0], [0.5, 0.5], [0.5, 0.5]])
    result = mode_metrics(points, MODES, std=0.01)
    assert result["modes_captured"] == 1
    assert result["high_quality_pct"] == pytest.approx(25.0)


def test_kl_of_a_known_histogram():
    # nearest-mode histogram (2, 1, 1, 0) / 4 against uniform 1/4
    points = torch.cat([MODES[[0, 0, 1, 2]]])
    expected = 0.5 * math.log(0.5 * 4) + 2 * 0.25 * math.log(0.25 * 4)
    assert mode_metrics(points, MODES, std=0.01)["kl_uniform"] == pytest.approx(expected)
