"""gan_cli: train GANs from Hydra configs."""

__version__ = "0.1.0"
