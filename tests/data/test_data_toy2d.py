import math

import pytest
import torch

import gan_cli.data as data
from gan_cli.data import toy2d
from gan_cli.errors import UserError

from .fakes import assert_one_line, data_cfg


def nearest_mode_distance(points, modes):
    distances = torch.cdist(points.double(), modes.double())
    return distances.min(dim=1)


def test_ring8_modes_sit_on_the_circle():
    ring = data.build(data_cfg(name="ring8", radius=2.0, n_points=1000), "cpu", 8)
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    expected = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    assert ring.modes.shape == (8, 2) and ring.modes.dtype == torch.float32
    assert ring.modes.device.type == "cpu"
    assert torch.allclose(ring.modes.double(), expected, atol=1e-6)


def test_grid25_modes_cover_the_grid():
    grid = data.build(data_cfg(name="grid25", n_points=1000), "cpu", 8)
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(mode.tolist()) for mode in grid.modes} == expected
    assert grid.mode_std == 0.05


@pytest.mark.parametrize(("name", "mode_count", "std"), [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_points_cluster_around_every_mode(name, mode_count, std):
    mixture = data.build(data_cfg(name=name), "cpu", 64)
    assert mixture.num_examples == 100_000
    assert (mixture.shape, mixture.kind, mixture.n_classes) == ((2,), "points", 0)
    assert mixture.mode_std == std
    distance, nearest = nearest_mode_distance(mixture.points, mixture.modes)
    # A 2D Gaussian leaves 4 std with probability exp(-8) ~ 3e-4; 6 std practically never.
    assert (distance <= 4 * std).double().mean() > 0.999
    assert distance.max() <= 6 * std
    share = torch.bincount(nearest, minlength=mode_count).double() / mixture.num_examples
    assert share.min() > 0.5 / mode_count


def test_points_are_raw_coordinates_and_the_set_is_fixed():
    first = data.build(data_cfg(name="grid25", n_points=300), "cpu", 4)
    torch.manual_seed(123)  # the data set must not depend on the global seed
    second = data.build(data_cfg(name="grid25", n_points=300), "cpu", 4)
    assert torch.equal(first.points, second.points)
    assert first.points.abs().max() > 3.5  # not squeezed into [-1, 1]
    x, y = first.next()
    assert x.shape == (4, 2) and x.dtype == torch.float32 and y is None


@pytest.mark.parametrize("field", [{"n_points": 0}, {"std": -1.0}, {"radius": 0.0}])
def test_out_of_range_settings_are_user_errors(field):
    with pytest.raises(UserError):
        data.build(data_cfg(name="ring8", **field), "cpu", 4)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
@pytest.mark.parametrize("n_points", [2**40, 10**26])
def test_more_points_than_memory_holds_are_refused_before_allocating(monkeypatch, name, n_points):
    def must_not_draw(*args):
        raise AssertionError("drew the points before checking that they fit")

    monkeypatch.setattr(toy2d, "mixture_points", must_not_draw)
    with pytest.raises(UserError) as caught:
        data.build(data_cfg(name=name, n_points=n_points), "cpu", 4)
    message = assert_one_line(caught.value)
    assert f"data.n_points={n_points:,} needs about" in message and "GiB of memory" in message
