"""gan_cli.data.kinds: what a kind of samples decides (views, default metrics, outputs, scoring)."""

from types import SimpleNamespace

import pytest
import torch

from gan_cli import data
from gan_cli.data import kinds
from gan_cli.outputs import plots
from gan_cli.registry import METRICS


def ring8(n_points: int = 500):
    return data.build(SimpleNamespace(name="ring8", n_points=n_points, std=0.01, radius=1.0), "cpu", 1)


def test_kinds_are_found_by_name_and_by_sample_shape():
    assert kinds.kind_named("image").describe == "images"
    assert kinds.kind_named("points").describe == "2D points"
    assert kinds.kind_of_shape((2,)) is kinds.kind_named("points")
    assert kinds.kind_of_shape((1, 28, 28)) is kinds.kind_named("image")
    assert kinds.kind_named("audio").describe == "audio clips"
    assert kinds.kind_of_shape((1, 16384)) is kinds.kind_named("audio")
    with pytest.raises(ValueError, match="unknown data kind 'video'; known: image, points, audio"):
        kinds.kind_named("video")


def test_a_recorded_kind_wins_over_the_shape():
    assert kinds.kind_of_data({"name": "mnist"}, (1, 28, 28)).name == "image"
    assert kinds.kind_of_data({"name": "x", "kind": "points"}, (1, 28, 28)).name == "points"
    assert kinds.kind_of_data(SimpleNamespace(name="ring8"), (2,)).name == "points"


@pytest.mark.parametrize(
    "kind,n_classes,features,expected",
    [
        ("image", 10, "classifier", ["fid", "kid", "pr", "coverage", "score"]),
        ("image", 0, "inception", ["fid", "kid", "pr"]),
        ("image", 10, "inception", ["fid", "kid", "pr", "score"]),
        ("points", 0, "classifier", ["modes"]),
    ],
)
def test_default_metrics_are_registered_and_apply_to_the_kind(kind, n_classes, features, expected):
    import gan_cli.evaluation  # noqa: F401  (registers the metrics)

    names = kinds.kind_named(kind).default_metrics(n_classes, features)
    assert names == expected
    assert all(kind in METRICS.get(name).kinds for name in names)


@pytest.mark.parametrize(
    "kind,fmt,interpolate,gif,roles",
    [
        ("image", "grid", False, False, ("grid",)),
        ("image", "png", False, False, ("folder",)),
        ("image", "npy", False, False, ("npy",)),
        ("image", "grid", True, False, ("grid",)),
        ("image", "grid", True, True, ("grid", "gif")),
        ("points", "grid", False, False, ("scatter", "npy")),
        ("points", "npy", False, False, ("npy",)),
    ],
)
def test_output_roles(kind, fmt, interpolate, gif, roles):
    assert kinds.kind_named(kind).output_roles(fmt, interpolate, gif) == roles


def test_what_each_kind_allows():
    image, points = kinds.kind_named("image"), kinds.kind_named("points")
    assert image.interpolates and not points.interpolates
    assert image.compared_by_features and not points.compared_by_features
    assert points.view_needs_source and not image.view_needs_source
    assert points.has_interval_metrics and not image.has_interval_metrics


def test_images_are_clipped_points_are_not():
    samples = torch.tensor([[-3.0, 0.5], [2.0, -0.25]])
    assert kinds.kind_named("points").clip(samples.clone()).equal(samples)
    assert kinds.kind_named("image").clip(samples.clone()).equal(torch.tensor([[-1.0, 0.5], [1.0, -0.25]]))


def test_the_image_view_is_the_grid():
    images = torch.rand(6, 1, 8, 8) * 2 - 1
    assert kinds.kind_named("image").view(images, None, nrow=3).equal(plots.image_grid(images, 3))


def test_the_points_view_is_a_scatter_over_the_real_mixture_and_scores_its_modes():
    source = ring8()
    points = source.real_sample(200)
    view = kinds.kind_named("points").view(points, source)
    assert view.shape == (3, 512, 512) and 0 <= view.min() and view.max() <= 1
    scores = kinds.kind_named("points").interval_metrics(points, source)
    assert scores["modes_captured"] == 8
