"""`gan sample` and `gan eval` need only the generator contract (gan_cli.models.contract): a
module that maps latents (and labels, when it takes them) to samples, with its own latent
sampler where it has one. No discriminator, no particular latent shape."""

import numpy as np
import torch
from omegaconf import OmegaConf
from torch import nn

from gan_cli import evaluation, models, sampling
from gan_cli.outputs import checkpoint
from tests.sampling.helpers import PLAIN_RING8, SMALL_MLP, sample_cfg, train_config


class UniformCube(nn.Module):
    """Latents of shape (n, 2, 3) from U(-1, 1), drawn by the model itself."""

    z_dim = 6

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 2)

    def sample_latent(self, n, generator=None, device=None):
        z = torch.rand(n, 2, 3, generator=generator) * 2 - 1
        return z if device is None else z.to(device)

    def forward(self, z):
        return self.linear(z.flatten(1))


class Conditional(nn.Module):
    """Puts the label it is given into the output, so the test can read which label came."""

    z_dim = 4
    takes_labels = True
    n_classes = 3

    def forward(self, z, labels):
        return torch.stack([z[:, 0], labels.float()], dim=1)


def test_latents_come_from_the_generators_own_sampler():
    G = UniformCube()
    z = sampling.latents(5, 100, G)
    assert z.shape == (100, 2, 3) and z.min() >= -1 and z.max() <= 1
    assert torch.cat(list(sampling.latent_batches(5, 100, G, 64))).equal(z)


def test_the_default_sampler_is_the_standard_normal_of_a_latent_size():
    G = nn.Linear(8, 2)
    G.z_dim = 8
    assert sampling.latents(3, 10, G).equal(sampling.latents(3, 10, 8))


def test_a_generator_that_takes_labels_gets_every_class_in_turn():
    G = Conditional()
    z = sampling.latents(0, 130, G)
    out = torch.cat(list(sampling.generate(G, z.split(64), "cpu", 3)))
    assert out[:, 1].long().tolist() == [i % 3 for i in range(130)]
    assert sampling.class_labels(UniformCube(), 0, 4) is None


def test_a_generator_with_its_own_latents_is_evaluated():
    G = UniformCube()
    config = train_config(*PLAIN_RING8, *SMALL_MLP)
    evaluator = evaluation.Evaluator(config["data"], n=300, batch_size=128)
    results = evaluator.evaluate(G, seed=0)
    assert set(results) == {"modes_captured", "high_quality_pct", "kl_uniform"}
    assert evaluator.evaluate(G, seed=0) == results


def test_a_checkpoint_without_a_discriminator_samples(tmp_path):
    config = train_config(*PLAIN_RING8, *SMALL_MLP)
    generator, _ = models.build(OmegaConf.create(config["model"]), (2,))
    payload = {"config": config, "step": 3, "generator": generator.state_dict()}  # no "discriminator"
    path = checkpoint.save(payload, tmp_path / "g.pt")
    scatter, points = sampling.run(sample_cfg(path, n=50, out=str(tmp_path / "out")))
    assert scatter.is_file() and np.load(points).shape == (50, 2)
