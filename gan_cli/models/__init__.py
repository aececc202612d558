"""Generators and discriminators, one module per family, built by name from a config.

Usage:
    G, D = build(cfg.model, shape=(1, 28, 28))
    G(torch.randn(n, G.z_dim))  # -> (n, 1, 28, 28) in [-1, 1]
    D(images)                   # -> (n,) raw logits
"""

from gan_cli.models import dcgan, mlp  # noqa: F401  (importing a family registers it)
from gan_cli.models.registry import available, build, register

__all__ = ["available", "build", "register"]
