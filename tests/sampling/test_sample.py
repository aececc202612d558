"""`gan sample`: checkpoints -> grids, PNG folders, .npy arrays, interpolations and 2D scatter plots.

Most tests build a checkpoint in-process (the trainer's format, with the full resolved train
config) and call gan_cli.sampling without Hydra; the slow ones run the real `gan train` and
`gan sample` commands.
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from gan_cli.outputs import checkpoint, plots
from gan_cli.outputs.images import to_uint8, unit_to_uint8

from gan_cli import models, sampling
from gan_cli.commands.config import SampleConfig, validate_sample
from gan_cli.data.shapes import data_shape
from gan_cli.errors import UserError
from tests.data.fakes import write_idx_set
from tests.helpers import compose_train, run_folders, run_gan

SMALL_MLP = ["model.g_hidden=[32,64]", "model.d_hidden=[32]", "model.z_dim=16"]


def train_config(*overrides: str) -> dict:
    return OmegaConf.to_container(compose_train(*overrides), resolve=True)


def write_checkpoint(
    path: Path, config: dict, sample_shape: tuple[int, ...], seed: int = 0, **entries
) -> Path:
    torch.manual_seed(seed)
    generator, discriminator = models.build(OmegaConf.create(config["model"]), sample_shape)
    # Non-trivial BatchNorm statistics, as a trained G has: eval mode must use them.
    for module in generator.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    payload = {
        "config": config,
        "step": 7,
        "epoch": 0.5,
        "generator": generator.state_dict(),
        "discriminator": discriminator.state_dict(),
        **entries,
    }
    return checkpoint.save(payload, path)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpts")
    return {
        "mnist": write_checkpoint(root / "mnist.pt", train_config("data=mnist", *SMALL_MLP), (1, 28, 28)),
        "cifar": write_checkpoint(
            root / "cifar.pt", train_config("model=dcgan", "data=cifar10", "model.width=8"), (3, 32, 32)
        ),
        "ring8": write_checkpoint(root / "ring8.pt", train_config("data=ring8", *SMALL_MLP), (2,)),
    }


def sample_cfg(ckpt, **overrides):
    cfg = OmegaConf.structured(SampleConfig(ckpt=str(ckpt)))
    for key, value in {"device": "cpu", **overrides}.items():
        cfg[key] = value  # the schema type-checks each value, as Hydra would
    validate_sample(cfg)
    return cfg


def run(ckpt, **overrides) -> list[Path]:
    return sampling.run(sample_cfg(ckpt, **overrides))


def generator_of(ckpt: Path, use_ema: bool = True):
    return sampling.load_generator(ckpt, "cpu", use_ema).generator


def grid_pixels(samples: torch.Tensor, nrow: int | None) -> np.ndarray:
    """(H, W, 3) uint8: the grid of samples as its PNG holds it."""
    return unit_to_uint8(plots.image_grid(samples, nrow)).permute(1, 2, 0).numpy()


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


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
        assert np.array_equal(
            np.asarray(image.convert("RGB")), grid_pixels(walks.flatten(0, 1), 5)
        )
    with Image.open(gif) as image:
        assert image.n_frames == 5
        assert image.size == (2 * 30 + 2, 2 * 30 + 2)  # each frame: the 3 rows' images at one step


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


# ---- which weights -------------------------------------------------------------------------------------
def test_ema_weights_are_used_when_present_unless_turned_off(tmp_path):
    config = train_config("data=mnist", *SMALL_MLP)
    torch.manual_seed(9)
    ema, _ = models.build(OmegaConf.create(config["model"]), (1, 28, 28))
    path = write_checkpoint(tmp_path / "ema.pt", config, (1, 28, 28), ema_generator=ema.state_dict())
    ema.eval()
    with torch.no_grad():
        expected = ema(sampling.latents(sampling.sample_seed(0), 4, 16))
    with_ema = np.load(run(path, n=4, format="npy", out=str(tmp_path / "ema.npy"))[0])
    without = np.load(run(path, n=4, format="npy", use_ema=False, out=str(tmp_path / "raw.npy"))[0])
    np.testing.assert_allclose(with_ema, expected.numpy(), atol=1e-6)
    assert not np.allclose(with_ema, without)


def test_a_shape_in_the_checkpoint_wins_over_the_data_config(tmp_path):
    config = train_config("data=folder", "data.path=somewhere", "data.image_size=64", *SMALL_MLP)
    path = write_checkpoint(tmp_path / "small.pt", config, (1, 16, 16), shape=[1, 16, 16])
    array = np.load(run(path, n=3, format="npy", out=str(tmp_path / "s.npy"))[0])
    assert array.shape == (3, 1, 16, 16)


@pytest.mark.parametrize(
    "cfg,shape",
    [
        ({"name": "mnist"}, (1, 28, 28)),
        ({"name": "fashion_mnist"}, (1, 28, 28)),
        ({"name": "cifar10"}, (3, 32, 32)),
        ({"name": "folder", "image_size": 48, "channels": 1}, (1, 48, 48)),
        ({"name": "folder"}, (3, 64, 64)),
        ({"name": "ring8"}, (2,)),
        ({"name": "grid25"}, (2,)),
    ],
)
def test_data_shape_from_the_config_alone(cfg, shape):
    assert data_shape(cfg) == shape
    assert data_shape(OmegaConf.create(cfg)) == shape


def test_data_shape_of_an_unknown_set_is_a_user_error():
    with pytest.raises(UserError, match="unknown data set 'imagenet'"):
        data_shape({"name": "imagenet"})


# ---- which checkpoint ------------------------------------------------------------------------------------
def test_a_run_folder_means_its_best_checkpoint_else_its_last(ckpts, tmp_path):
    folder = tmp_path / "10-00-00-mlp-mnist"
    (folder / "checkpoints").mkdir(parents=True)
    last = folder / "checkpoints" / "last.pt"
    last.write_bytes(ckpts["mnist"].read_bytes())
    assert sampling.resolve_checkpoint(folder) == last
    assert sampling.resolve_checkpoint(folder / "checkpoints") == last
    best = folder / "checkpoints" / "best.pt"
    best.write_bytes(ckpts["mnist"].read_bytes())
    assert sampling.resolve_checkpoint(folder) == best
    assert sampling.resolve_checkpoint(last) == last
    assert run(folder, n=2, out=str(tmp_path / "s.png")) == [tmp_path / "s.png"]


class CreatesAFile:
    """Unpickling this would create the file: the proof that a checkpoint's code never runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def bad_checkpoint(kind: str, folder: Path, good: Path) -> Path:
    path = folder / f"{kind}.pt"
    if kind == "missing":
        return folder / "nowhere" / "last.pt"
    if kind == "empty folder":
        (folder / "run" / "checkpoints").mkdir(parents=True)
        return folder / "run"
    if kind == "not a checkpoint":
        path.write_text("these are not the weights you are looking for\n")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:3000])
    elif kind == "newer format":
        torch.save({"format_version": checkpoint.FORMAT_VERSION + 1}, path)
    elif kind == "pickled code":
        torch.save({"format_version": 1, "x": CreatesAFile(folder / "pwned")}, path)
    elif kind == "no config":
        checkpoint.save({"generator": {}}, path)
    elif kind == "weights of another model":
        payload = checkpoint.load(good)
        payload["config"]["model"]["g_hidden"] = [8, 8]
        checkpoint.save(payload, path)
    return path


BAD_CHECKPOINTS = {
    "missing": "does not exist",
    "empty folder": "no checkpoints/best.pt or checkpoints/last.pt",
    "not a checkpoint": "not a loadable gan_cli checkpoint",
    "truncated": "not a loadable gan_cli checkpoint",
    "newer format": "newer than this gan_cli reads",
    "pickled code": "not a loadable gan_cli checkpoint",
    "no config": "has no model and data config",
    "weights of another model": "do not fit the model",
}


@pytest.mark.parametrize("kind", BAD_CHECKPOINTS)
def test_bad_checkpoints_are_one_line_naming_the_file(ckpts, tmp_path, kind):
    path = bad_checkpoint(kind, tmp_path, ckpts["mnist"])
    out = tmp_path / "out"
    with pytest.raises(UserError, match=BAD_CHECKPOINTS[kind]) as caught:
        run(path, out=str(out))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert not (tmp_path / "pwned").exists() and not out.exists()


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"n": 0}, "n=0 is out of range: an integer >= 1"),
        ({"batch_size": 0}, "batch_size=0 is out of range"),
        ({"steps": 1}, "steps=1 is out of range: an integer >= 2"),
        ({"nrow": 0}, "nrow=0 is out of range"),
        ({"format": "jpg"}, "format='jpg' is out of range: grid, png, npy"),
        ({"device": "tpu"}, "device='tpu' is out of range"),
        ({"gif": True}, "gif=true animates an interpolation"),
        ({"interpolate": True, "format": "npy"}, "format=npy does not apply with interpolate=true"),
        ({"interpolate": True, "nrow": 4}, "nrow=4 does not apply"),
        ({"out": " "}, "out=' ' is out of range"),
    ],
)
def test_bad_values_name_the_key_value_and_range(overrides, expected):
    with pytest.raises(UserError) as caught:
        sample_cfg("some.pt", **overrides)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_ckpt_is_required():
    with pytest.raises(UserError, match="ckpt is required"):
        validate_sample(OmegaConf.structured(SampleConfig))


def test_sample_help_lists_the_options(tmp_path):
    result = run_gan("sample", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line in ("ckpt: ???", "format: grid", "interpolate: false", "use_ema: true", "gan sample ckpt="):
        assert line in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_the_command_module_does_not_import_torch():
    code = "import sys, gan_cli.commands.sample; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


# ---- the real commands ------------------------------------------------------------------------------
SHORT = ["trainer.steps=20", "trainer.log_every=10", "trainer.sample_every=20", "trainer.ckpt_every=20"]


@pytest.mark.slow
def test_gan_sample_writes_into_its_own_run_folder(ckpts, tmp_path):
    run_dir = tmp_path / "outputs" / "2026-11-28" / "10-00-00-mlp-ring8"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(ckpts["ring8"].read_bytes())
    result = run_gan("sample", f"ckpt={run_dir}", "n=500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (sample_dir,) = [p for p in run_folders(tmp_path) if p.name.endswith("-sample")]
    assert (sample_dir / ".hydra" / "config.yaml").is_file()
    relative = sample_dir.relative_to(tmp_path)
    assert result.stdout.splitlines() == [f"wrote {relative}/samples.png", f"wrote {relative}/samples.npy"]
    assert np.load(sample_dir / "samples.npy").shape == (500, 2)
    assert png_size(sample_dir / "samples.png") == (512, 512)
    assert "last.pt" in (sample_dir / "sample.log").read_text()


@pytest.mark.slow
def test_gan_sample_on_a_trained_mnist_checkpoint(tmp_path):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=100)
    train = ("data.download=false", "trainer.batch_size=16", "trainer.ema.decay=0.9", *SMALL_MLP, *SHORT)
    result = run_gan("train", *train, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    ckpt = run_dir / "checkpoints" / "last.pt"

    result = run_gan("sample", f"ckpt={ckpt}", "n=16", "seed=3", "out=grid.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["wrote grid.png"]
    assert png_size(tmp_path / "grid.png") == (4 * 30 + 2, 4 * 30 + 2)
    assert run_folders(tmp_path) == [run_dir]  # out= leaves no sample run folder behind
    sampling.run(sample_cfg(ckpt, n=16, seed=3, out=str(tmp_path / "again.png")))
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "grid.png").read_bytes()

    # the run kept an EMA generator: it is the default, use_ema=false picks the raw one
    assert "ema_generator" in checkpoint.load(ckpt)
    sampling.run(sample_cfg(ckpt, n=16, seed=3, use_ema=False, out=str(tmp_path / "raw.png")))
    assert (tmp_path / "raw.png").read_bytes() != (tmp_path / "grid.png").read_bytes()

    walks = sampling.run(
        sample_cfg(run_dir, interpolate=True, n=3, steps=4, gif=True, out=str(tmp_path / "w"))
    )
    assert walks == [tmp_path / "w" / "interpolation.png", tmp_path / "w" / "interpolation.gif"]
    assert png_size(walks[0]) == (4 * 30 + 2, 3 * 30 + 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind,args,expected",
    [
        ("missing", (), "nowhere/last.pt does not exist"),
        ("empty folder", (), "no checkpoints/best.pt"),
        ("pickled code", (), "not a loadable gan_cli checkpoint"),
        ("truncated", (), "not a loadable gan_cli checkpoint"),
        ("good", ("n=0",), "n=0 is out of range"),
        ("good", ("steps=1", "interpolate=true"), "steps=1 is out of range"),
    ],
)
def test_gan_sample_bad_input_is_one_line_exit_2(ckpts, tmp_path, kind, args, expected):
    path = ckpts["mnist"] if kind == "good" else bad_checkpoint(kind, tmp_path, ckpts["mnist"])
    result = run_gan("sample", f"ckpt={path}", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "pwned").exists()
    assert run_folders(tmp_path) == []  # a refused run leaves no folder behind
