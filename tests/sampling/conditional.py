"""A tiny conditional generator family for the tests of sampling and evaluation by class: a Linear
map of z plus a per-class offset, registered in MODELS for the length of a test (`registered`), so
its checkpoints are rebuilt from their config the way a real family's are."""

from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from gan_cli.outputs import checkpoint
from gan_cli.registry import MODELS

NAME = "toy_conditional"


class ToyConditional(nn.Module):
    """G(z, y) = tanh(W z + offset * e_y): the class shifts every output by its own direction."""

    takes_labels = True
    cond = "concat"

    def __init__(self, z_dim: int, shape: tuple[int, ...], n_classes: int, offset: float = 0.5):
        super().__init__()
        self.z_dim, self.shape, self.n_classes = z_dim, tuple(shape), n_classes
        size = int(torch.Size(shape).numel())
        self.linear = nn.Linear(z_dim, size)
        self.embed = nn.Embedding(n_classes, size)
        self.offset = offset

    def forward(self, z, labels):
        assert labels.dtype == torch.int64 and labels.shape == (z.shape[0],) and labels.device == z.device
        out = torch.tanh(self.linear(z.flatten(1)) * 0.3 + self.offset * self.embed(labels))
        return out.reshape(z.shape[0], *self.shape)


def build(cfg, shape, n_classes=0, pack=1):
    torch.manual_seed(0)
    return ToyConditional(cfg.z_dim, shape, n_classes, cfg.offset), None


@contextmanager
def registered():
    # No schema: Hydra's ConfigStore (filled by any compose while this is registered) keeps
    # entries forever, and model=toy_conditional must not outlive the test.
    MODELS.add(NAME, build, summary="test-only conditional G")
    try:
        yield
    finally:
        MODELS.unregister(NAME)


def write_conditional_checkpoint(
    path: Path, config: dict, shape: tuple[int, ...], n_classes: int = 10, **model
) -> Path:
    """A checkpoint of ToyConditional in the trainer's format; config: a train config (its data)."""
    config = {**config, "model": {"name": NAME, "z_dim": 8, "offset": 0.5, **model}}
    torch.manual_seed(1)
    generator = ToyConditional(config["model"]["z_dim"], shape, n_classes, config["model"]["offset"])
    payload = {
        "config": config,
        "step": 7,
        "generator": generator.state_dict(),
        "shape": list(shape),
        "n_classes": n_classes,
    }
    return checkpoint.save(payload, path)
