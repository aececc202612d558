"""Training in several processes (gloo, 2 ranks on the CPU): the averaged gradients of a real
recipe's steps equal one process's on the whole batch, so a run means the same at any world size.

Each rank here is a spawned process that joins a gloo group on a free port and runs the GAN
recipe's real step on its half of fixed batches (the recipe's noise replaced by the matching half
of fixed latents); rank 0 of a 1-process group runs the same steps on the whole batches.
"""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from gan_cli import distributed, models
from gan_cli.device import speed_switches
from gan_cli.registry import RECIPES
from gan_cli.training.recipes.base import RecipeContext
from tests.helpers import compose_train

BATCH, STEPS = 16, 3


class FixedHalves:
    """Batches of 2D points: step i gives this rank's rows of the i-th fixed global batch."""

    kind, shape, n_classes, num_examples = "points", (2,), 0, 1000

    def __init__(self, reals, rank, world):
        self.reals, self.rank, self.world, self.calls = reals, rank, world, 0

    def next(self):
        share = BATCH // self.world
        real = self.reals[self.calls][self.rank * share : (self.rank + 1) * share]
        self.calls += 1
        return real, None


# ring8 trains InfoGAN's codes by default (configs/data/ring8.yaml); this test wants the GAN with
# the latent size and pack it was written for
PLAIN_GAN = ("recipe=gan", "model.z_dim=2", "trainer.pack=2")


def _fixed_inputs():
    generator = torch.Generator().manual_seed(1)
    reals = [torch.randn(BATCH, 2, generator=generator) for _ in range(STEPS)]
    latents = [torch.randn(BATCH, 2, generator=generator) for _ in range(STEPS)]
    return reals, latents


def _train(rank: int, world: int, port: int, overrides: list[str], out: dict) -> None:
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    context = distributed.Context(rank, world, rank).on_device("cpu")
    distributed.start(context)
    try:
        cfg = compose_train("data=ring8", *PLAIN_GAN, f"trainer.batch_size={BATCH // world}", *overrides)
        torch.manual_seed(0)
        generator, discriminator = models.build(cfg.model, (2,), 0, pack=cfg.trainer.pack, data_name="ring8")
        reals, latents = _fixed_inputs()
        batches = FixedHalves(reals, rank, world)
        device = torch.device("cpu")
        recipe = RECIPES.get("gan").builder(
            RecipeContext(
                cfg, generator, discriminator, batches, device, speed_switches(cfg.trainer, device), context
            )
        )
        share = BATCH // world
        drawn = iter(latents)
        recipe._draw_latent = lambda n: next(drawn)[rank * share : (rank + 1) * share, : recipe.z_dim]
        for _ in range(STEPS):
            recipe.step(batches)
        if rank == 0:
            out.update({f"{net}.{k}": v.clone() for net in ("generator", "discriminator")
                        for k, v in recipe.networks[net].state_dict().items()})  # fmt: skip
    finally:
        distributed.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights_after(world: int, overrides: list[str]) -> dict:
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_train, args=(world, _free_port(), overrides, out), nprocs=world, join=True)
        return dict(out)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        [],  # the ring8 defaults: an MLP without BatchNorm, Adam
        ["optim=sgd", "optim.lr=0.05"],
    ],
    ids=["adam", "sgd"],
)
def test_two_ranks_train_like_one_on_the_whole_batch(overrides):
    """The plain GAN on ring8's nets (PLAIN_GAN): z_dim 2 (the latents above are drawn for it)
    and trainer.pack=2: packs stay within a rank."""
    one = _weights_after(1, overrides)
    two = _weights_after(2, overrides)
    assert one.keys() == two.keys() and one
    worst = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert worst <= 1e-5, worst


def test_the_global_batch_is_shared_out_or_refused():
    context = distributed.Context(0, 4)
    assert distributed.rank_batch(64, context) == 16
    with pytest.raises(Exception, match="does not divide over them; use a multiple of 4"):
        distributed.rank_batch(66, context)
    with pytest.raises(Exception, match="trainer.pack=3 does not divide each process's 16"):
        distributed.rank_batch(64, context, pack=3)
    assert distributed.rank_batch(63, distributed.Context(0, 1)) == 63


def test_each_rank_and_resume_point_gets_its_own_stream():
    seeds = {distributed.rank_seed(0, rank, step) for rank in range(4) for step in (0, 1000)}
    assert len(seeds) == 8
    assert distributed.rank_seed(3, 1, 5) == distributed.rank_seed(3, 1, 5)


def test_one_process_joins_no_group_and_agrees_with_itself():
    context = distributed.Context()
    distributed.start(context)
    assert not distributed.joined()
    assert distributed.highest(15) == 15 and distributed.any_rank(False) is False
    assert distributed.from_main({"fid": 1.0}) == {"fid": 1.0}
