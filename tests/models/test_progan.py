"""model=progan and recipe=progan (Karras et al. 2018): the ladder of sizes, shapes at every level,
the fade-in mixes of G, D and the real images at alpha 0, 0.5 and 1, the schedule at its edges,
the drift term, and a run through the trainer that crosses phase boundaries and resumes exactly."""

import json

import pytest
import torch

from gan_cli.commands.train import build, run
from gan_cli.errors import UserError
from gan_cli.models.progan import levels
from gan_cli.models.progan_nets import ProDiscriminator, ProGenerator, level_channels, resize
from gan_cli.outputs import checkpoint
from gan_cli.training.recipes.progan import images_to_grow, phase_at
from gan_cli.training.recipes.progan_step import faded_real, with_drift
from tests.data.fakes import write_idx_set
from tests.helpers import SilentReporter, compose_train


def test_the_ladder_halves_the_side_while_it_stays_even_and_at_least_4():
    assert levels(28) == [7, 14, 28]
    assert levels(32) == [4, 8, 16, 32]
    assert levels(64) == [4, 8, 16, 32, 64]
    assert levels(48) == [6, 12, 24, 48]
    assert level_channels(16, 3) == [64, 32, 16]
    assert level_channels(16, 6) == [128, 128, 128, 64, 32, 16]  # capped at 8 x width


@pytest.mark.parametrize(("side", "channels"), [(28, 1), (32, 3), (16, 1)])
def test_shapes_at_every_level(side, channels):
    sides = levels(side)
    G, D = ProGenerator(8, 4, channels, sides), ProDiscriminator(4, channels, sides)
    z = torch.randn(5, 8)
    for level in range(len(sides)):
        for alpha in (0.0, 0.5, 1.0):
            G.set_phase(level, alpha)
            D.set_phase(level, alpha)
            images = G(z)
            assert images.shape == (5, channels, side, side)
            assert D(images).shape == (5,)
    # the output at a level is its side up-sampled: constant over each block of pixels
    G.set_phase(0, 1.0)
    image = G(z)
    assert torch.allclose(image, resize(resize(image, sides[0]), side), atol=1e-6)


def test_fade_in_mixes_the_level_below_and_the_new_level():
    torch.manual_seed(0)
    sides = levels(28)
    G, D = ProGenerator(8, 4, 1, sides), ProDiscriminator(4, 1, sides)
    z, x = torch.randn(6, 8), torch.randn(6, 1, 28, 28)

    def out(net, level, alpha, *args):
        net.set_phase(level, alpha)
        return net(*args)

    # alpha 0: exactly the level below (its output, up-sampled); alpha 1: the new level alone
    assert torch.allclose(out(G, 2, 0.0, z), out(G, 1, 1.0, z), atol=1e-6)
    half = out(G, 2, 0.5, z)
    assert torch.allclose(half, (out(G, 2, 0.0, z) + out(G, 2, 1.0, z)) / 2, atol=1e-6)
    assert torch.allclose(out(D, 1, 0.0, x), out(D, 0, 1.0, x), atol=1e-5)
    low, high = out(D, 1, 0.0, x), out(D, 1, 1.0, x)
    assert not torch.allclose(low, high)


def test_real_images_fade_like_the_generator():
    sides = levels(28)
    real = torch.rand(3, 1, 28, 28)
    lower = resize(resize(real, 7), 28)
    new = resize(resize(real, 14), 28)
    assert torch.allclose(faded_real(real, sides, 1, 0.0), lower, atol=1e-6)
    assert torch.allclose(faded_real(real, sides, 1, 1.0), new, atol=1e-6)
    assert torch.allclose(faded_real(real, sides, 1, 0.5), (lower + new) / 2, atol=1e-6)
    assert torch.equal(faded_real(real, sides, 2, 1.0), real)


def test_the_schedule_at_its_edges():
    fade, stable = 100, 200
    assert phase_at(0, 3, fade, stable) == (0, 1.0)
    assert phase_at(stable - 1, 3, fade, stable) == (0, 1.0)
    assert phase_at(stable, 3, fade, stable) == (1, 0.0)
    assert phase_at(stable + 50, 3, fade, stable) == (1, 0.5)
    assert phase_at(stable + fade, 3, fade, stable) == (1, 1.0)
    assert phase_at(stable + fade + stable - 1, 3, fade, stable) == (1, 1.0)
    assert phase_at(stable + fade + stable, 3, fade, stable) == (2, 0.0)
    assert phase_at(10**9, 3, fade, stable) == (2, 1.0)
    assert phase_at(10**9, 1, fade, stable) == (0, 1.0)
    assert phase_at(stable, 3, 0, stable) == (1, 1.0)  # no fade: a level jumps in
    assert images_to_grow(3, fade, stable) == stable + 2 * (fade + stable)


def test_the_drift_term_adds_its_weight_times_the_mean_square_of_the_real_logits():
    real, fake = torch.tensor([1.0, -3.0]), torch.tensor([0.5, 0.5])
    wgan = lambda r, f: f.mean() - r.mean()  # noqa: E731
    assert float(with_drift(wgan, 0.001)(real, fake)) == pytest.approx(1.5 + 0.001 * 5.0)


TINY = [
    "experiment=progan",
    "data=mnist",
    "data.download=false",
    "model.width=2",
    "model.z_dim=8",
    "trainer.batch_size=8",
    "trainer.eval_every=0",
    "trainer.progress=false",
    "trainer.log_every=1",
    "trainer.sample_every=5",
    "trainer.ckpt_every=5",
    # 8 images a step: level 0 for 2 steps, then per level a 2-step fade and 2 stable steps
    "recipe.fade_images=16",
    "recipe.stable_images=16",
    "logger=[jsonl]",
]


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=64)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_a_run_grows_through_every_level_and_resumes_mid_fade_exactly(mnist_root):
    unbroken, broken = mnist_root / "unbroken", mnist_root / "broken"
    run(compose_train(*TINY, "trainer.steps=10"), unbroken)
    run(compose_train(*TINY, "trainer.steps=7"), broken)  # stops in the 28x28 fade
    mid = checkpoint.load(broken / "checkpoints" / "last.pt")
    assert (int(mid["generator"]["level"]), float(mid["generator"]["alpha"])) == (2, 0.0)
    run(compose_train(*TINY, "trainer.steps=10", f"resume={broken}/checkpoints/last.pt"), broken)
    records = [json.loads(line) for line in (unbroken / "metrics.jsonl").read_text().splitlines()]
    assert [(r["resolution"], r["alpha"]) for r in records] == [
        (7, 1.0), (7, 1.0), (14, 0.0), (14, 0.5), (14, 1.0),
        (14, 1.0), (28, 0.0), (28, 0.5), (28, 1.0), (28, 1.0),
    ]  # fmt: skip
    a, b = (checkpoint.load(d / "checkpoints" / "last.pt") for d in (unbroken, broken))
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    assert int(a["generator"]["level"]) == 2 and float(a["generator"]["alpha"]) == 1.0
    logs = [
        [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
        for d in (unbroken, broken)
    ]
    assert [r["d_loss"] for r in logs[0]] == [r["d_loss"] for r in logs[1]]
    assert len(list((unbroken / "samples").glob("step_*.png"))) >= 2  # grids at the current level, up-sampled


def test_model_progan_picks_its_recipe_and_other_families_cannot_use_it(mnist_root):
    assert compose_train("model=progan").recipe.name == "progan"
    with pytest.raises(UserError, match="recipe=progan grows model=progan's networks"):
        cfg = compose_train(*TINY[1:3], "model=mlp", "recipe=progan", "trainer.eval_every=0")
        build(cfg, mnist_root / "x", reporter=SilentReporter())
    with pytest.raises(UserError, match="model=progan has no class conditioning"):
        build(compose_train(*TINY, "model.cond=projection"), mnist_root / "y", reporter=SilentReporter())
