"""The autoencoder recipe (`recipe=vae`, picked by model=vae and model=ae): one update of encoder and
decoder per step, on the negative ELBO (model=vae: reconstruction + beta x KL, Kingma & Welling
2014; Higgins et al. 2017) or on the reconstruction alone (model=ae), with the optim group's
optimizer and rate. The step is in vae_step.py, which imports torch; this module only registers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_cli.registry import RECIPES, Range

if TYPE_CHECKING:
    from gan_cli.training.recipes.base import Recipe, RecipeContext


@dataclass
class VAERecipeConfig:
    name: str = "vae"
    # test images in each samples/recon_step_NNNNNNN.png, over their reconstructions; 0: none
    recon_images: int = 16


@RECIPES.register(
    "vae",
    schema=VAERecipeConfig,
    summary="autoencoders: the negative ELBO (model=vae) or the reconstruction (model=ae), one update a step",
    ranges={"recon_images": Range(0, 1024)},
)
def build(context: RecipeContext) -> Recipe:
    from gan_cli.training.recipes.vae_step import VAERecipe

    return VAERecipe(context)
