"""The progressive-growing step (recipe=progan; what it is: gan_cli/training/recipes/progan.py and
gan_cli/models/progan.py). The phase comes from the real images D has seen (D updates x batch),
which the checkpoint holds, so a run resumed mid-fade continues at the same alpha."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from gan_cli.errors import UserError
from gan_cli.models.progan_nets import Phased, mix, resize
from gan_cli.registry import RECIPES
from gan_cli.training.recipes.base import RecipeContext
from gan_cli.training.recipes.gan_step import GANRecipe
from gan_cli.training.recipes.progan import images_to_grow, phase_at


def faded_real(real: Tensor, sides: list[int], level: int, alpha: float) -> Tensor:
    """Real images as D sees them at (level, alpha), back at the data's size: pooled to the level's
    side and, while it fades in, mixed with the level below up-sampled (the paper's fade of the
    real images, sec. 2), so real and fake carry the same detail."""
    x = resize(real, sides[level])
    if level > 0 and alpha < 1.0:
        x = mix(resize(resize(x, sides[level - 1]), sides[level]), x, alpha)
    return resize(x, sides[-1])


class FadedBatches:
    """The data set's batches with each real batch faded to the recipe's current phase."""

    def __init__(self, batches: Any, fade):
        self._batches, self._fade = batches, fade

    def next(self):
        real, labels = self._batches.next()
        return self._fade(real), labels

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batches, name)


def with_drift(d_loss, drift: float):
    """D's loss plus drift * E[D(x)^2] of the real logits (paper, appendix A.1)."""

    def d_loss_with_drift(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return d_loss(real_logits, fake_logits) + drift * real_logits.float().pow(2).mean()

    return d_loss_with_drift


class ProGANRecipe(GANRecipe):
    name = "progan"

    def __init__(self, context: RecipeContext):
        if not (isinstance(context.generator, Phased) and isinstance(context.discriminator, Phased)):
            raise UserError(
                f"recipe=progan grows model=progan's networks; model={context.cfg.model.name} has none"
            )
        super().__init__(context)
        settings = RECIPES.settings(context.cfg.recipe, "progan")
        self.fade_images, self.stable_images = int(settings.fade_images), int(settings.stable_images)
        self.drift = float(settings.drift)
        if self.drift > 0:
            self.loss = dataclasses.replace(self.loss, d_loss=with_drift(self.loss.d_loss, self.drift))
        self.sides = list(context.generator.sides)
        self._phase = (0, 1.0)

    def phase(self) -> tuple[int, float]:
        """(level, alpha) for the next step, from the real images D has seen."""
        images = self.d_updates * self.batch_size * self.world_size  # all ranks' images
        return phase_at(images, len(self.sides), self.fade_images, self.stable_images)

    def step(self, batches) -> dict[str, Tensor] | None:
        level, alpha = self._phase = self.phase()
        for name in ("generator", "discriminator"):
            self.networks[name].set_phase(level, alpha)
        stats = super().step(FadedBatches(batches, lambda real: faded_real(real, self.sides, level, alpha)))
        if stats is None:
            return None
        # statistics are averaged over a log interval: the resolution and alpha it trained at
        side = torch.tensor(float(self.sides[level]), device=self.device)
        return {**stats, "resolution": side, "alpha": torch.tensor(alpha, device=self.device)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        level, alpha = self.phase()  # the networks' buffers came with the checkpoint; this agrees
        for name in ("generator", "discriminator"):
            self.networks[name].set_phase(level, alpha)

    def facts(self) -> dict[str, str]:
        facts = super().facts()
        ladder = " -> ".join(f"{side}x{side}" for side in self.sides)
        grow = images_to_grow(len(self.sides), self.fade_images, self.stable_images)
        drift = f", drift {self.drift:g}" if self.drift > 0 else ""
        facts["step"] = (
            f"{facts['step']}; {ladder}: fade {self.fade_images:,} / stable {self.stable_images:,} images "
            f"per level (grown after {-(-grow // (self.batch_size * self.world_size)):,} D steps){drift}"
        )
        return facts
