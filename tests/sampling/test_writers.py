"""The formats `gan sample` writes: grids, PNG folders, .npy arrays, 2D scatter plots."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_cli import sampling
from gan_cli.errors import UserError
from gan_cli.outputs import plots
from gan_cli.outputs.images import to_uint8
from tests.sampling.helpers import generator_of, grid_pixels, png_size, run, sample_cfg


# ---- formats -------------------------------------------------------------------------------------------
def test_npy_holds_the_generator_outputs_as_float32_in_range(ckpts, tmp_path):
    (path,) = run(ckpts["mnist"], n=12, format="npy", seed=5, out=str(tmp_path / "s.npy"))
    array = np.load(path)
    assert array.shape == (12, 1, 28, 28) and array.dtype == np.float32
    assert array.min() >= -1 and array.max() <= 1
    with torch.no_grad():
        expected = generator_of(ckpts["mnist"])(sampling.latents(sampling.sample_seed(5), 12, 16))
    np.testing.assert_allclose(array, expected.numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "name,n,nrow,columns,rows,side",
    [("mnist", 10, 4, 4, 3, 28), ("mnist", 64, None, 8, 8, 28), ("cifar", 6, 3, 3, 2, 32)],
)
def test_grid_layout_follows_nrow(ckpts, tmp_path, name, n, nrow, columns, rows, side):
    (path,) = run(ckpts[name], n=n, nrow=nrow, out=str(tmp_path / "grid.png"))
    # torchvision's make_grid: 2 pixels of padding around and between the images
    assert png_size(path) == (columns * (side + 2) + 2, rows * (side + 2) + 2)
    images = torch.from_numpy(np.load(run(ckpts[name], n=n, format="npy", out=str(tmp_path / "s.npy"))[0]))
    with Image.open(path) as grid:
        assert np.array_equal(np.asarray(grid.convert("RGB")), grid_pixels(images, nrow))


@pytest.mark.parametrize("name,mode,side", [("mnist", "L", 28), ("cifar", "RGB", 32)])
def test_png_format_writes_one_file_per_sample(ckpts, tmp_path, name, mode, side):
    (folder,) = run(ckpts[name], n=5, format="png", out=str(tmp_path / "pngs"))
    assert folder == tmp_path / "pngs"
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(5)]
    expected = to_uint8(
        torch.from_numpy(np.load(run(ckpts[name], n=5, format="npy", out=str(tmp_path))[0]))
    ).permute(0, 2, 3, 1)
    for file, pixels in zip(files, expected, strict=True):
        with Image.open(file) as image:
            assert image.mode == mode and image.size == (side, side)
            assert np.array_equal(np.asarray(image).reshape(side, side, -1), pixels.numpy())


def test_default_names_in_the_run_folder(ckpts, tmp_path):
    cfg = sample_cfg(ckpts["mnist"], n=4)
    assert sampling.run(cfg, tmp_path) == [tmp_path / "samples.png"]
    cfg = sample_cfg(ckpts["mnist"], n=4, format="png")
    assert sampling.run(cfg, tmp_path) == [tmp_path / "samples"]
    assert len(list((tmp_path / "samples").glob("*.png"))) == 4
    cfg = sample_cfg(ckpts["mnist"], n=2, interpolate=True, steps=3, gif=True)
    assert sampling.run(cfg, tmp_path) == [tmp_path / "interpolation.png", tmp_path / "interpolation.gif"]


def test_out_file_is_written_alone(ckpts, tmp_path):
    target = tmp_path / "deep" / "er" / "mine.png"
    assert run(ckpts["mnist"], n=4, out=str(target)) == [target]
    assert sorted(p.name for p in target.parent.iterdir()) == ["mine.png"]  # no partial file left


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"format": "png", "out": "x.png"}, "into a folder"),
        ({"format": "grid", "out": "x.npy"}, "give out=<name>.png"),
        ({"format": "npy", "out": "x.png"}, "give out=<name>.npy"),
    ],
)
def test_out_suffix_must_match_the_format(ckpts, tmp_path, overrides, message):
    with pytest.raises(UserError, match=message) as caught:
        run(ckpts["mnist"], n=2, **{**overrides, "out": str(tmp_path / overrides["out"])})
    assert "\n" not in str(caught.value) and "out=" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# ---- 2D data -------------------------------------------------------------------------------------------
def test_2d_checkpoint_gives_a_scatter_plot_and_the_points(ckpts, tmp_path):
    scatter, points = run(ckpts["ring8"], n=300, out=str(tmp_path))
    assert (scatter, points) == (tmp_path / "samples.png", tmp_path / "samples.npy")
    assert png_size(scatter) == (512, 512)
    array = np.load(points)
    assert array.shape == (300, 2) and array.dtype == np.float32
    with torch.no_grad():
        expected = generator_of(ckpts["ring8"])(sampling.latents(sampling.sample_seed(0), 300, 16))
    np.testing.assert_allclose(array, expected.numpy(), atol=1e-6)
    with Image.open(scatter) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colors = {tuple(round(c * 255) for c in color) for color in (plots.REAL_COLOR, plots.FAKE_COLOR)}
    assert colors <= {tuple(p) for p in np.unique(pixels, axis=0)}


def test_2d_npy_format_writes_only_the_points(ckpts, tmp_path):
    assert run(ckpts["ring8"], n=10, format="npy", out=str(tmp_path / "pts.npy")) == [tmp_path / "pts.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["pts.npy"]


def test_2d_interpolation_is_refused(ckpts, tmp_path):
    with pytest.raises(UserError, match="interpolate=true needs image data.*ring8"):
        run(ckpts["ring8"], interpolate=True, out=str(tmp_path))
