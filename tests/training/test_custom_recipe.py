"""A recipe defined here, outside the package: the model family's generator trained by moment
matching (an MMD with Gaussian kernels between a batch of real 2D points and a batch of samples),
no discriminator. It registers like a plugin would and goes through the same trainer, checkpoints,
resume, `gan sample` and `gan eval` code as the GAN, with no change to the package."""

import json
from dataclasses import dataclass, field

import pytest
import torch
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from gan_cli import evaluation, sampling
from gan_cli.commands.config import EvalConfig, SampleConfig
from gan_cli.commands.train import build, compose, run
from gan_cli.outputs import checkpoint
from gan_cli.registry import RECIPES
from gan_cli.training.recipes.base import Recipe, RecipeContext


@dataclass
class MomentsConfig:
    name: str = "moments"
    lr: float = 3e-3
    bandwidths: list[float] = field(
        default_factory=lambda: [0.05, 0.2, 1.0]
    )  # kernel widths: the ring's modes (std 0.01) up to its radius


def mmd(real: torch.Tensor, fake: torch.Tensor, bandwidths) -> torch.Tensor:
    """Squared maximum mean discrepancy with a sum of Gaussian kernels (Gretton et al. 2012)."""
    both = torch.cat((real, fake))
    distances = torch.cdist(both, both).square()
    kernel = sum(torch.exp(-distances / (2 * h * h)) for h in bandwidths)
    n = real.shape[0]
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


class MomentMatching(Recipe):
    name = "moments"
    watched = {"mmd": "MMD loss"}

    def __init__(self, context: RecipeContext):
        G, settings = context.generator, context.cfg.recipe
        optimizer = torch.optim.Adam(G.parameters(), lr=settings.lr, betas=(0.5, 0.999))
        self.batch_size, self.bandwidths = context.cfg.trainer.batch_size, tuple(settings.bandwidths)
        super().__init__(
            context, {"generator": G}, {"generator": optimizer}, examples_per_step=self.batch_size
        )

    def step(self, batches):
        real, _ = batches.next()
        fake = self.generator(torch.randn(self.batch_size, self.generator.z_dim, device=self.device))
        loss = mmd(real, fake, self.bandwidths)
        if not self.update("generator", loss):
            return None
        return {"mmd": loss.detach(), "mean_gap": (fake.mean(0) - real.mean(0)).norm().detach()}


@pytest.fixture(autouse=True)
def moments_recipe():
    RECIPES.add("moments", MomentMatching, schema=MomentsConfig, summary="MMD to the real batch, no D")
    store = ConfigStore.instance()
    store.store(group="recipe", name="moments", node=MomentsConfig)
    try:
        yield
    finally:
        RECIPES.unregister("moments")
        store.repo["recipe"].pop("moments.yaml", None)


SMALL = ["recipe=moments", "data=ring8", "model.g_hidden=[64,64]", "trainer.batch_size=128",
         "trainer.progress=false", "trainer.eval_every=0", "trainer.sample_every=1000"]  # fmt: skip


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_the_moment_matcher_trains_through_the_trainer_and_learns_the_ring(tmp_path):
    cfg = compose([*SMALL, "trainer.steps=200", "trainer.log_every=50", "trainer.ckpt_every=100"])
    summary = run(cfg, tmp_path / "trained")
    last = records(tmp_path / "trained")[-1]
    assert {"mmd", "mean_gap", "lr_g", "modes_captured"} <= set(last) and "d_loss" not in last
    assert summary["mmd"] == last["mmd"] and summary["modes_captured"] == last["modes_captured"]
    # the untrained generator of the same seed, measured the same way after one step
    run(compose([*SMALL, "trainer.steps=1"]), tmp_path / "untrained")
    before = records(tmp_path / "untrained")[0]
    assert last["mmd"] < before["mmd"] / 2 and last["mean_gap"] < before["mean_gap"]
    assert last["modes_captured"] >= 5 > before["modes_captured"]
    payload = checkpoint.load(tmp_path / "trained" / "checkpoints" / "last.pt", expect=checkpoint.FOR_RESUME)
    assert payload["recipe"] == "moments" and payload["networks"] == {}
    assert set(payload["optimizers"]) == {"generator"} and set(payload["stats"]["sums"]) == {
        "mmd",
        "mean_gap",
    }
    periodic = sorted(p.name for p in (tmp_path / "trained" / "checkpoints").glob("step_*.pt"))
    assert periodic == ["step_0000100.pt", "step_0000200.pt"]


def test_the_banner_names_the_recipe_and_counts_only_its_networks(tmp_path):
    facts = build(compose([*SMALL, "trainer.steps=4"]), tmp_path).facts
    assert facts["recipe"] == "moments" and "loss" not in facts
    assert facts["model"].startswith("mlp  G ") and "D " not in facts["model"]
    assert facts["trainer"] == "4 steps x batch 128"


def test_n_steps_and_a_resume_to_2n_end_where_2n_steps_do(tmp_path):
    quiet = [*SMALL, "trainer.log_every=4", "trainer.ckpt_every=10"]
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    run(compose([*quiet, "trainer.steps=40"]), unbroken)
    run(compose([*quiet, "trainer.steps=20"]), broken)
    # from step 10, two steps into a log interval: the sums of those two steps carry over
    middle = broken / "checkpoints" / "step_0000010.pt"
    assert checkpoint.load(middle)["stats"]["steps"] == 2
    run(compose([*quiet, "trainer.steps=40", f"resume={middle}"]), broken)
    a, b = (checkpoint.load(d / "checkpoints" / "last.pt") for d in (unbroken, broken))
    assert a["step"] == b["step"] == 40
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    for index, state in a["optimizers"]["generator"]["state"].items():
        assert torch.equal(state["exp_avg"], b["optimizers"]["generator"]["state"][index]["exp_avg"])
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in rs]  # noqa: E731
    assert strip(records(unbroken)) == strip(records(broken))


def test_its_checkpoint_samples_and_scores_like_any_other(tmp_path):
    run(compose([*SMALL, "trainer.steps=200", "trainer.log_every=50"]), tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    sample_cfg = OmegaConf.merge(
        OmegaConf.structured(SampleConfig), {"ckpt": str(ckpt), "n": 300, "format": "npy", "device": "cpu"}
    )
    written = sampling.run(OmegaConf.merge(sample_cfg, {"out": str(tmp_path / "a.npy")}))
    again = sampling.run(OmegaConf.merge(sample_cfg, {"out": str(tmp_path / "b.npy"), "batch_size": 7}))
    assert written[0].read_bytes() == again[0].read_bytes()  # the same seed: the same bytes
    eval_cfg = OmegaConf.merge(
        OmegaConf.structured(EvalConfig),
        {"ckpt": str(ckpt), "n": 500, "device": "cpu", "out": str(tmp_path / "eval.json")},
    )
    evaluation.run(eval_cfg)
    scores = json.loads((tmp_path / "eval.json").read_text())["metrics"]
    assert scores["modes_captured"] >= 1
