"""`vary=` grids: rows are a categorical code's categories, columns sweep a continuous code or a
noise number from -2 to 2, everything else fixed; and the generator an InfoGAN checkpoint rebuilds."""

import pytest
import torch

from gan_cli.errors import UserError
from gan_cli.models import infogan
from gan_cli.sampling import loading, vary
from tests.data.fakes import assert_one_line
from tests.sampling.helpers import SMALL_MLP, train_config, write_checkpoint


class Plain(torch.nn.Module):
    z_dim = 6


def coded(categorical=(3, 4), continuous=2, z_dim=16):
    generator = Plain()
    generator.z_dim = z_dim
    return infogan.attach(generator, infogan.layout(z_dim, categorical, continuous))


@pytest.fixture
def G():
    return coded()


def test_vary_cat_has_one_row_per_category_and_changes_only_that_code_down_a_column(G):
    grid = vary.grid(G, "cat1", n=12, seed=3)
    codes = G.info_codes
    assert (grid.rows, grid.columns) == (4, 3) and grid.latents.shape == (12, 16)
    z = grid.latents.view(4, 3, 16)
    assert torch.equal(
        infogan.categories_of(codes, grid.latents)[:, 1].view(4, 3), torch.arange(4)[:, None].expand(4, 3)
    )
    block = codes.categorical_slices()[1]
    others = torch.cat((z[..., : block.start], z[..., block.stop :]), dim=-1)
    assert torch.equal(others, others[:1].expand_as(others))  # noise, cat0 and cont fixed down each column
    assert not torch.equal(z[0, 0], z[0, 1])  # columns are different draws


def test_vary_cont_sweeps_minus_two_to_two_across_the_columns_and_fixes_the_rest(G):
    grid = vary.grid(G, "cont1", n=20, steps=5, seed=0)
    assert (grid.rows, grid.columns) == (4, 5) and grid.values == [-2.0, -1.0, 0.0, 1.0, 2.0]
    z = grid.latents.view(4, 5, 16)
    position = G.info_codes.continuous_slice().start + 1
    assert torch.equal(z[..., position], torch.tensor(grid.values).expand(4, 5))
    rest = torch.cat((z[..., :position], z[..., position + 1 :]), dim=-1)
    assert torch.equal(rest, rest[:, :1].expand_as(rest))  # only the swept code changes along a row
    assert not torch.equal(rest[0, 0], rest[1, 0])


def test_vary_z_works_for_any_generator_and_stays_in_the_noise():
    plain = Plain()
    grid = vary.grid(plain, "z5", n=16, steps=8)
    assert (grid.rows, grid.columns) == (2, 8) and torch.equal(
        grid.latents.view(2, 8, 6)[0, :, 5], torch.tensor(grid.values)
    )
    with pytest.raises(UserError) as caught:
        vary.grid(coded(), "z10")  # 16 - 7 - 2 = 7 noise numbers
    assert "z0 .. z6" in assert_one_line(caught.value)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("cat", "is not one of cat<i>"),
        ("w2", "is not one of"),
        ("cat2", "2 categorical codes (cat0, cat1)"),
        ("cont2", "2 continuous codes (cont0, cont1)"),
    ],
)
def test_a_bad_vary_is_one_line(G, spec, words):
    with pytest.raises(UserError) as caught:
        vary.grid(G, spec)
    assert words in assert_one_line(caught.value)


def test_cat_and_cont_need_an_infogan_generator():
    with pytest.raises(UserError) as caught:
        vary.grid(Plain(), "cat0")
    assert "recipe=infogan" in assert_one_line(caught.value) and "vary=z<i>" in str(caught.value)


def test_an_infogan_checkpoint_rebuilds_a_generator_with_its_codes(tmp_path):
    config = train_config(
        "data=mnist", "recipe=infogan", *SMALL_MLP, "recipe.categorical=[5]", "recipe.continuous=1"
    )
    path = write_checkpoint(tmp_path / "info.pt", config, (1, 28, 28))
    G = loading.load_generator(path).generator
    infogan.attach_from_config(G, config)  # what sampling.loading does for an InfoGAN run (the hook)
    assert G.info_codes == infogan.layout(16, [5], 1)
    images, grid = vary.render(G, "cat0", n=10, steps=8, seed=0, device="cpu", batch_size=64)
    assert images.shape == (10, 1, 28, 28) and (grid.rows, grid.columns) == (5, 2)
    with torch.no_grad():
        assert torch.allclose(images, G(grid.latents), atol=1e-6)  # row-major: row r is category r
    assert (
        infogan.attach_from_config(loading.load_generator(path).generator, train_config("data=mnist"))
        is not None
    )


def sample_cfg(tmp_path, **values):
    from omegaconf import OmegaConf

    base = {
        "n": 20,
        "steps": 5,
        "seed": 0,
        "format": "grid",
        "interpolate": False,
        "gif": False,
        "nrow": None,
    }
    return OmegaConf.create(
        {**base, "out": str(tmp_path / "vary.png"), "class": None, "classes": None, **values}
    )


def test_write_draws_the_grid_gan_sample_vary_writes(tmp_path):
    from PIL import Image

    from gan_cli.sampling.destinations import plan_outputs

    config = train_config("data=mnist", "recipe=infogan", *SMALL_MLP, "recipe.categorical=[4]")
    loaded = loading.load_generator(write_checkpoint(tmp_path / "info.pt", config, (1, 28, 28)))
    G = infogan.attach_from_config(loaded.generator, config)
    cfg = sample_cfg(tmp_path, vary="cat0")
    (path,) = vary.write(cfg, G, loaded.kind, plan_outputs(cfg, loaded.kind, None), "cpu", 64)
    width, height = Image.open(path).size
    assert width > height  # 4 rows (the categories) of 5 columns (n // 4)
    for bad, words in (
        ({"nrow": 3}, "drop nrow="),
        ({"interpolate": True}, "format=grid"),
        ({"class": 2}, "class="),
    ):
        cfg = sample_cfg(tmp_path, vary="cont0", **bad)
        with pytest.raises(UserError) as caught:
            vary.write(cfg, G, loaded.kind, plan_outputs(cfg, loaded.kind, None), "cpu", 64)
        assert words in assert_one_line(caught.value)
