"""The progressive-growing recipe (`recipe=progan`, picked by model=progan; Karras et al. 2018): the
GAN step (recipe=gan's, with the loss and optim groups) at the phase the images seen so far give.
The base level trains for recipe.stable_images, then each next level fades in over
recipe.fade_images (alpha 0 -> 1) and is stable for recipe.stable_images; the last level stays.
D's loss gains the drift term recipe.drift * E[D(x)^2] (paper, appendix A.1: 0.001), which keeps
a WGAN critic's outputs near 0. The step is in progan_step.py, which imports torch; this module
registers it and holds the schedule, a pure function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_cli.registry import MAX_FLOAT, RECIPES, Range

if TYPE_CHECKING:
    from gan_cli.training.recipes.base import Recipe, RecipeContext


@dataclass
class ProGANRecipeConfig:
    name: str = "progan"
    fade_images: int = 30_000  # real images D sees while a new level fades in (the paper: 800k)
    stable_images: int = 60_000  # real images D sees at each level once it is in (the paper: 800k)
    drift: float = 0.001  # weight of E[D(x)^2] in D's loss; 0: off


def phase_at(images: int, n_levels: int, fade_images: int, stable_images: int) -> tuple[int, float]:
    """(level, alpha) after D has seen `images` real images: level 0 for stable_images, then per
    level a fade of fade_images with alpha rising linearly from 0, then stable_images at alpha 1;
    after the last level's fade, (n_levels - 1, 1.0) for ever."""
    if images < stable_images or n_levels == 1:
        return 0, 1.0
    period = fade_images + stable_images
    grown, into = divmod(images - stable_images, period)
    level = 1 + grown
    if level >= n_levels:
        return n_levels - 1, 1.0
    return level, (min(1.0, into / fade_images) if fade_images > 0 else 1.0)


def images_to_grow(n_levels: int, fade_images: int, stable_images: int) -> int:
    """Real images until the last level is faded in and has had its stable period."""
    return stable_images + (n_levels - 1) * (fade_images + stable_images)


@RECIPES.register(
    "progan",
    schema=ProGANRecipeConfig,
    summary="progressive growing: the GAN step, levels fading in from the base map to the data's size",
    ranges={
        "fade_images": Range(0, 10**12),
        "stable_images": Range(0, 10**12),
        "drift": Range(0.0, MAX_FLOAT, note="0 = off"),
    },
)
def build(context: RecipeContext) -> Recipe:
    from gan_cli.training.recipes.progan_step import ProGANRecipe

    return ProGANRecipe(context)
