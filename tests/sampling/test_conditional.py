"""`gan sample` for conditional generators: class=, classes=, the class-row grid, the labels file,
PNG names, walks within a class, and the one-line errors (gan_cli.sampling.labels)."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from gan_cli import sampling
from gan_cli.errors import UserError
from gan_cli.sampling import labels as class_request
from tests.sampling.conditional import registered, write_conditional_checkpoint
from tests.sampling.helpers import generator_of, grid_pixels, png_size, run, train_config

SIDE = 28


@pytest.fixture(scope="module", autouse=True)
def toy_family():
    with registered():
        yield


@pytest.fixture(scope="module")
def cond_ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond")
    return write_conditional_checkpoint(root / "cond.pt", train_config("data=mnist"), (1, SIDE, SIDE))


def expected_samples(ckpt, seed: int, labels: torch.Tensor) -> torch.Tensor:
    """What G makes of the sample stream's first len(labels) latents with these labels."""
    G = generator_of(ckpt)
    z = sampling.latents(sampling.sample_seed(seed), labels.shape[0], G)
    with torch.no_grad():
        return G(z, labels).clamp(-1, 1)


def test_labels_cycle_through_the_request():
    assert class_request.cycle([3, 5], 0, 5).tolist() == [3, 5, 3, 5, 3]
    assert class_request.cycle([3, 5], 3, 2).tolist() == [5, 3]
    assert class_request.cycle(range(10), 0, 12).dtype == torch.int64
    assert class_request.per_row(64, 10) == 6 and class_request.per_row(3, 10) == 1
    # grid (row r, column c) is sample r + c * rows
    assert class_request.row_order(2, 3).tolist() == [0, 2, 4, 1, 3, 5]


def test_default_grid_has_one_row_per_class(cond_ckpt, tmp_path):
    (path,) = run(cond_ckpt, n=64, seed=2, out=str(tmp_path / "grid.png"))
    # 10 classes: 64 // 10 = 6 images per row, 10 rows
    assert png_size(path) == (6 * (SIDE + 2) + 2, 10 * (SIDE + 2) + 2)
    labels = torch.arange(60) % 10
    samples = expected_samples(cond_ckpt, 2, labels)
    order = class_request.row_order(10, 6)
    assert (labels[order].reshape(10, 6) == torch.arange(10)[:, None]).all()  # row r is class r
    with Image.open(path) as grid:
        assert np.array_equal(np.asarray(grid.convert("RGB")), grid_pixels(samples[order], 6))


def test_a_larger_grid_adds_columns_and_keeps_the_others(cond_ckpt, tmp_path):
    small = torch.from_numpy(np.array(Image.open(run(cond_ckpt, n=20, out=str(tmp_path / "a.png"))[0])))
    large = torch.from_numpy(np.array(Image.open(run(cond_ckpt, n=40, out=str(tmp_path / "b.png"))[0])))
    assert small.shape[1] == 2 * (SIDE + 2) + 2 and large.shape[1] == 4 * (SIDE + 2) + 2
    assert torch.equal(large[:, : small.shape[1] - 2], small[:, :-2])


def test_classes_list_gives_rows_of_those_classes(cond_ckpt, tmp_path):
    (path,) = run(cond_ckpt, n=9, classes=[7, 2], out=str(tmp_path / "grid.png"))
    assert png_size(path) == (4 * (SIDE + 2) + 2, 2 * (SIDE + 2) + 2)  # 9 // 2 = 4 per row
    labels = class_request.cycle([7, 2], 0, 8)
    order = class_request.row_order(2, 4)
    samples = expected_samples(cond_ckpt, 0, labels)
    with Image.open(path) as grid:
        assert np.array_equal(np.asarray(grid.convert("RGB")), grid_pixels(samples[order], 4))


def test_one_class_is_an_ordinary_grid_of_that_class(cond_ckpt, tmp_path):
    (path,) = run(cond_ckpt, n=10, nrow=5, **{"class": 3}, out=str(tmp_path / "grid.png"))
    assert png_size(path) == (5 * (SIDE + 2) + 2, 2 * (SIDE + 2) + 2)
    samples = expected_samples(cond_ckpt, 0, torch.full((10,), 3))
    with Image.open(path) as grid:
        assert np.array_equal(np.asarray(grid.convert("RGB")), grid_pixels(samples, 5))


@pytest.mark.parametrize(
    "request_,expected",
    [({"class": 3}, [3] * 7), ({"classes": [4, 1]}, [4, 1, 4, 1, 4, 1, 4]), ({}, list(range(7)))],
)
def test_npy_has_its_labels_beside_it(cond_ckpt, tmp_path, request_, expected):
    paths = run(cond_ckpt, n=7, format="npy", seed=4, out=str(tmp_path / "s.npy"), **request_)
    assert paths == [tmp_path / "s.npy", tmp_path / "s.labels.npy"]
    labels = np.load(tmp_path / "s.labels.npy")
    assert labels.dtype == np.int64 and labels.tolist() == expected
    samples = expected_samples(cond_ckpt, 4, torch.tensor(expected))
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), samples.numpy(), atol=1e-6)


def test_default_npy_cycles_through_every_class(tmp_path):
    ckpt = write_conditional_checkpoint(
        tmp_path / "c.pt", train_config("data=mnist"), (1, 8, 8), n_classes=12
    )
    run(ckpt, n=30, format="npy", out=str(tmp_path / "s.npy"))
    assert np.load(tmp_path / "s.labels.npy").tolist() == [i % 12 for i in range(30)]


def test_same_request_same_bytes_whatever_batch_size_and_n(cond_ckpt, tmp_path):
    a = run(cond_ckpt, n=130, classes=[1, 8, 5], format="npy", batch_size=7, out=str(tmp_path / "a.npy"))
    b = run(cond_ckpt, n=130, classes=[1, 8, 5], format="npy", batch_size=256, out=str(tmp_path / "b.npy"))
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()
    c = run(cond_ckpt, n=70, classes=[1, 8, 5], format="npy", out=str(tmp_path / "c.npy"))
    assert np.array_equal(np.load(c[0]), np.load(a[0])[:70])  # sample i keeps its latent and label
    assert np.array_equal(np.load(c[1]), np.load(a[1])[:70])


def test_png_names_carry_the_class(cond_ckpt, tmp_path):
    (folder,) = run(cond_ckpt, n=4, format="png", classes=[2, 9], out=str(tmp_path / "pngs"))
    assert sorted(f.name for f in folder.iterdir()) == [
        "000000-class2.png", "000001-class9.png", "000002-class2.png", "000003-class9.png",
    ]  # fmt: skip


class LabelEcho(nn.Module):
    """Images that hold the label they were made with (every pixel label / 10)."""

    z_dim = 4
    takes_labels = True
    n_classes = 10

    def forward(self, z, labels):
        return (labels.float() / 10)[:, None, None, None].expand(z.shape[0], 1, 2, 2) + 0 * z[
            :, :1, None, None
        ]


@pytest.mark.parametrize("classes,rows", [(None, 12), ([7, 2, 4], 5)])
def test_every_walk_stays_within_one_class(classes, rows):
    walks = sampling.interpolate(LabelEcho(), 0, rows, 5, 64, "cpu", classes)
    shown = classes or list(range(10))
    assert walks.shape == (rows, 5, 1, 2, 2)
    labels = (walks[:, :, 0, 0, 0] * 10).round().long()
    assert labels.tolist() == [[shown[r % len(shown)]] * 5 for r in range(rows)]


def test_interpolation_of_a_conditional_checkpoint(cond_ckpt, tmp_path):
    paths = run(cond_ckpt, n=3, steps=4, interpolate=True, gif=True, **{"class": 6}, out=str(tmp_path / "w"))
    assert [p.name for p in paths] == ["interpolation.png", "interpolation.gif"]
    assert png_size(paths[0]) == (4 * (SIDE + 2) + 2, 3 * (SIDE + 2) + 2)


@pytest.mark.parametrize(
    "request_,expected",
    [
        ({"class": 12}, "class=12 is out of range: this checkpoint's generator has classes 0-9"),
        ({"classes": [3, 10]}, "classes=[3,10] is out of range: this checkpoint's generator has classes 0-9"),
        ({"nrow": 4}, "nrow=4 does not apply to a conditional checkpoint's grid"),
    ],
)
def test_requests_the_checkpoint_cannot_take_are_one_line(cond_ckpt, tmp_path, request_, expected):
    with pytest.raises(UserError) as caught:
        run(cond_ckpt, out=str(tmp_path / "x.png"), **request_)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "x.png").exists()


def test_class_on_an_unconditional_checkpoint_is_one_line(ckpts, tmp_path):
    for request_ in ({"class": 3}, {"classes": [1, 2]}):
        with pytest.raises(UserError) as caught:
            run(ckpts["mnist"], out=str(tmp_path / "x.png"), **request_)
        message = str(caught.value)
        assert "holds an unconditional generator" in message and "\n" not in message


def test_unconditional_outputs_have_no_labels(ckpts, tmp_path):
    assert run(ckpts["mnist"], n=3, format="npy", out=str(tmp_path / "s.npy")) == [tmp_path / "s.npy"]
    (folder,) = run(ckpts["mnist"], n=2, format="png", out=str(tmp_path / "p"))
    assert sorted(f.name for f in folder.iterdir()) == ["000000.png", "000001.png"]
