"""Class conditioning (`model.cond`): the choices every model family shares, their ranges and the
rule that a conditional model needs labelled data. torch-free: config checks read it before torch
loads; the torch modules that implement the modes live in gan_cli.models.common.

- ``none``: unconditional (the default); G is forward(z), D forward(x).
- ``concat`` (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"): a learned class
  embedding of ``cond_dim`` numbers joined to z in G, and to each sample at D's input (mlp: to its
  flattened features; dcgan: as ``cond_dim`` constant feature maps beside its image channels),
  before PacGAN packing, so each sample of a pack carries its own label.
- ``projection`` (Miyato & Koyama 2018, "cGANs with Projection Discriminator"): conditional
  BatchNorm in G (per-class gain and bias), and D's logit psi(phi(x)) + <embed(y), phi(x)>.
- ``acgan`` (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier
  GANs"): G as concat; D's trunk also feeds a class head (raw logits, one row per sample); D's
  real/fake logit does not read the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gan_cli.errors import UserError
from gan_cli.models.sizes import MAX_WIDTH
from gan_cli.registry import Range

NONE = "none"
CONDITIONINGS = (NONE, "concat", "projection", "acgan")
# Modes whose generator joins a learned class embedding of cond_dim numbers to z.
EMBEDS_IN_G = ("concat", "acgan")
DEFAULT_COND_DIM = 32  # size of the class embedding joined to z (concat, acgan) and to D's input (concat)


@dataclass(frozen=True)
class Choices(Range):
    """A string key's valid words, in the registry's ranges table like any Range (config checks and
    `Registry.settings` call `admits` and `describe`), so a bad value is one line naming them."""

    low: float = 0
    high: float = 0

    def admits(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.words

    def describe(self, integer: bool = False) -> str:
        return "one of " + ", ".join(self.words)


COND = Choices(words=CONDITIONINGS)
COND_DIM = Range(1, MAX_WIDTH, note="numbers in the class embedding; concat and acgan")
# The ranges every family adds to its own.
RANGES = {"cond": COND, "cond_dim": COND_DIM}


def is_conditional(cond: str) -> bool:
    return cond != NONE


def check_labels(cond: str, n_classes: int, data_name: str | None = None) -> None:
    """A conditional model needs a data set with labels: one line otherwise."""
    if is_conditional(cond) and n_classes <= 0:
        data = f"data={data_name}" if data_name else "the data"
        raise UserError(
            f"model.cond={cond} needs class labels and {data} has none "
            "(an image folder gets them from class subfolders); use labelled data or model.cond=none"
        )
