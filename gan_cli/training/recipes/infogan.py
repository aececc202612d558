"""InfoGAN (`recipe=infogan`, preset `experiment=infogan`): Chen et al. 2016, "InfoGAN:
Interpretable Representation Learning by Information Maximizing Generative Adversarial Nets".

G's latent (model.z_dim numbers) carries codes beside the noise: recipe.categorical (category
counts, one-hot) and recipe.continuous (uniform in [-1, 1]); a Q head on D's trunk predicts them
from G's samples, and the mutual-information terms (lambda_cat x cross-entropy, lambda_cont x
Gaussian NLL) join G's objective, training G and Q. The layout and the math: gan_cli.models.infogan;
the step: gan_step.InfoGANRecipe (the GAN step with two hooks). This module only registers, so
`gan --help` and config errors stay fast (no torch here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, List  # noqa: UP035 - OmegaConf reads these annotations

from gan_cli.errors import UserError
from gan_cli.registry import MAX_FLOAT, RECIPES, Range

if TYPE_CHECKING:
    from gan_cli.training.recipes.base import Recipe, RecipeContext


@dataclass
class InfoGANRecipeConfig:
    """The recipe's keys (the noise is what model.z_dim leaves beside the codes)."""

    name: str = "infogan"
    categorical: List[int] = field(default_factory=lambda: [10])  # noqa: UP006 - categories of each code
    continuous: int = 2  # continuous codes, uniform in [-1, 1]
    lambda_cat: float = 1.0  # weight of the categorical codes' cross-entropy (Chen et al. 2016: 1)
    lambda_cont: float = 0.1  # weight of the continuous codes' Gaussian NLL (Chen et al. 2016: 0.1 here)
    learn_std: bool = (
        False  # Q predicts each continuous code's log-std too; false: std 1 (the paper's MNIST code)
    )
    q_hidden: int = 128  # Q's hidden layer on D's trunk features


RANGES = {
    "categorical": Range(2, 1000, note="categories of each categorical code"),
    "continuous": Range(0, 100),
    "lambda_cat": Range(0.0, MAX_FLOAT),
    "lambda_cont": Range(0.0, MAX_FLOAT),
    "q_hidden": Range(1, 4096),
}


def check(cfg: Any) -> None:
    """The rules of an InfoGAN run, in one line each, before torch: ranges, and what it works with."""
    recipe = cfg.recipe
    for key, allowed in RANGES.items():
        value = recipe[key]
        for item in list(value) if not isinstance(value, (int, float)) else [value]:
            if not allowed.admits(item):
                integer = isinstance(item, int) and not isinstance(item, bool)
                shown = list(value) if not isinstance(value, (int, float)) else value
                raise UserError(f"recipe.{key}={shown!r} is out of range: {allowed.describe(integer)}")
    cond = cfg.model.get("cond", "none")
    if cond != "none":
        raise UserError(
            f"recipe=infogan with model.cond={cond}: InfoGAN learns its own codes without labels; "
            "use model.cond=none"
        )
    pack = cfg.trainer.get("pack", 1)
    if pack != 1:
        raise UserError(
            f"recipe=infogan with trainer.pack={pack}: Q reads one sample at a time; use trainer.pack=1, "
            "or recipe=gan to pack a plain GAN (the 2D sets ring8 and grid25 train InfoGAN's codes "
            "unless told otherwise)"
        )
    if cfg.trainer.batch_size < 2:
        raise UserError(
            f"recipe=infogan with trainer.batch_size={cfg.trainer.batch_size}: Q's BatchNorm needs "
            "at least 2 samples per batch; use trainer.batch_size>=2"
        )
    from gan_cli.models import infogan

    infogan.layout(cfg.model.z_dim, recipe.categorical, recipe.continuous)  # enough noise beside the codes


@RECIPES.register(
    "infogan",
    schema=InfoGANRecipeConfig,
    summary="InfoGAN (Chen et al. 2016): latent codes, a Q head on D, mutual-information terms",
)
def build(context: RecipeContext) -> Recipe:
    check(context.cfg)
    from gan_cli.training.recipes.gan_step import InfoGANRecipe

    return InfoGANRecipe(context)
