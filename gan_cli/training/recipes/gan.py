"""The GAN recipe (`recipe=gan`, the default): trainer.d_steps discriminator updates, then one
generator update, with the loss and regularizers of the `loss` group and the optimizers of the
`optim` group. The step itself is in gan_step.py, which imports torch; this module only registers
it, so `gan --help` and config errors stay fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_cli.registry import RECIPES

if TYPE_CHECKING:
    from gan_cli.training.recipes.base import Recipe, RecipeContext


@dataclass
class GANRecipeConfig:
    """The recipe's own keys (none yet: the loss, optimizer and trainer groups configure it)."""

    name: str = "gan"


@RECIPES.register(
    "gan", schema=GANRecipeConfig, summary="adversarial: D updates (trainer.d_steps), then one G update"
)
def build(context: RecipeContext) -> Recipe:
    from gan_cli.training.recipes.gan_step import GANRecipe

    return GANRecipe(context)
