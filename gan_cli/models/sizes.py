"""Bounds every model family's sizes share (torch-free: config checks read them before torch loads)."""

from gan_cli.registry import Range

MAX_WIDTH = 65_536  # units of one hidden layer, or a latent's size (MAX_PARAMETERS keeps products sane)
MAX_LAYERS = 64

LATENT = Range(1, MAX_WIDTH)
UNITS = Range(1, MAX_WIDTH)
SLOPE = Range(0.0, 1.0, high_open=True)  # LeakyReLU's negative slope
