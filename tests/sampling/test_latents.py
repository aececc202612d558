"""Latents: one stream per seed, so outputs do not depend on n or batch_size; slerp walks."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from gan_cli import sampling
from tests.sampling.helpers import generator_of, grid_pixels, png_size, run


# ---- determinism ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,suffix", [("grid", ".png"), ("npy", ".npy")])
def test_same_seed_same_bytes_another_seed_differs(ckpts, tmp_path, fmt, suffix):
    first = run(ckpts["mnist"], n=20, format=fmt, out=str(tmp_path / f"a{suffix}"))
    again = run(ckpts["mnist"], n=20, format=fmt, out=str(tmp_path / f"b{suffix}"))
    other = run(ckpts["mnist"], n=20, format=fmt, seed=1, out=str(tmp_path / f"c{suffix}"))
    assert first[0].read_bytes() == again[0].read_bytes()
    assert first[0].read_bytes() != other[0].read_bytes()


@pytest.mark.parametrize("name,sizes", [("mnist", (1, 5, 16, 256)), ("cifar", (1, 7, 64))])
def test_output_is_independent_of_batch_size(ckpts, tmp_path, name, sizes):
    outputs = [
        run(ckpts[name], n=20, format="npy", batch_size=size, out=str(tmp_path / f"{size}.npy"))[0]
        for size in sizes
    ]
    assert len({path.read_bytes() for path in outputs}) == 1


def test_grid_is_independent_of_batch_size(ckpts, tmp_path):
    grids = [
        run(ckpts["mnist"], n=37, batch_size=size, out=str(tmp_path / f"{size}.png"))[0] for size in (3, 100)
    ]
    assert grids[0].read_bytes() == grids[1].read_bytes()


def test_more_samples_start_with_the_same_ones(ckpts, tmp_path):
    few = np.load(run(ckpts["mnist"], n=10, format="npy", out=str(tmp_path / "few.npy"))[0])
    many = np.load(run(ckpts["mnist"], n=1500, format="npy", out=str(tmp_path / "many.npy"))[0])
    assert np.array_equal(few, many[:10])


def test_latent_batches_hand_out_one_stream():
    whole = sampling.latents(3, 2500, 8)
    assert torch.cat(list(sampling.latent_batches(3, 2500, 8, 300))).equal(whole)
    assert sampling.latents(3, 10, 8).equal(whole[:10])
    assert not sampling.latents(4, 10, 8).equal(whole[:10])


# ---- interpolation ---------------------------------------------------------------------------------------
def test_slerp_keeps_endpoints_and_the_unit_sphere():
    generator = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(5, 16, generator=generator), dim=1)
    b = torch.nn.functional.normalize(torch.randn(5, 16, generator=generator), dim=1)
    path = sampling.slerp(a, b, 9)
    assert path.shape == (5, 9, 16)
    assert path[:, 0].equal(a) and path[:, -1].equal(b)
    torch.testing.assert_close(path.norm(dim=-1), torch.ones(5, 9), atol=1e-6, rtol=0)
    # equal angular steps: consecutive points are equally far apart
    gaps = (path[:, 1:] - path[:, :-1]).norm(dim=-1)
    torch.testing.assert_close(gaps, gaps[:, :1].expand_as(gaps), atol=1e-6, rtol=0)


def test_slerp_of_orthogonal_and_parallel_vectors():
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    middle = sampling.slerp(x, y, 3)[0, 1]
    torch.testing.assert_close(middle, torch.tensor([1.0, 1.0]) / math.sqrt(2))
    same = sampling.slerp(2 * x, 2 * x, 4)
    assert torch.isfinite(same).all() and torch.allclose(same, 2 * x.expand(4, 2))


def test_interpolation_rows_start_and_end_at_their_latents(ckpts):
    G = generator_of(ckpts["mnist"])
    walks = sampling.interpolate(G, seed=2, rows=3, steps=5, batch_size=4, device="cpu")
    assert walks.shape == (3, 5, 1, 28, 28)
    ends = sampling.latents(2, 6, G.z_dim)
    with torch.no_grad():
        torch.testing.assert_close(walks[:, 0], G(ends[0::2]), atol=1e-6, rtol=0)
        torch.testing.assert_close(walks[:, -1], G(ends[1::2]), atol=1e-6, rtol=0)
    # the inside of the walk is not just one of the ends
    assert not torch.allclose(walks[:, 2], walks[:, 0], atol=1e-3)


def test_interpolation_grid_and_gif(ckpts, tmp_path):
    grid, gif = run(
        ckpts["mnist"], n=3, interpolate=True, steps=5, gif=True, seed=2, out=str(tmp_path / "w.png")
    )
    assert (grid, gif) == (tmp_path / "w.png", tmp_path / "w.gif")
    assert png_size(grid) == (5 * 30 + 2, 3 * 30 + 2)  # one walk per row, `steps` columns
    G = generator_of(ckpts["mnist"])
    seed = sampling.sample_seed(2)  # what `gan sample seed=2` draws from
    walks = sampling.interpolate(G, seed=seed, rows=3, steps=5, batch_size=256, device="cpu")
    with Image.open(grid) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), grid_pixels(walks.flatten(0, 1), 5))
    with Image.open(gif) as image:
        assert image.n_frames == 5
        assert image.size == (2 * 30 + 2, 2 * 30 + 2)  # each frame: the 3 rows' images at one step
