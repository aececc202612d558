"""The autoencoder training step (recipe=vae; gan_cli.models.vae builds the networks).

Per step: a batch x in [-1, 1]; its likelihood target t (Bernoulli: x mapped to [0, 1] and, with
model.binarize, sampled to 0/1 afresh each batch: dynamic binarization); the encoder reads t back
in [-1, 1]. A VAE draws one z = mean + sigma * eps (the reparameterization trick) and minimizes
mean over the batch of [-log p(t | z) + w KL(q(z | t) || N(0, I))], each term summed over pixels
or latent dimensions, with w = model.beta, grown linearly from 0 over model.kl_warmup_steps.
An AE minimizes -log p(t | code) and moves its fitted Gaussian towards the batch's codes.

Statistics (nats per image, on the device): loss (the objective), recon (-log p(t | z)), and for a
VAE kl and elbo (log p(t | z) - KL, unweighted: the bound the NLL metrics tighten).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from torch import Tensor

from gan_cli.errors import UserError
from gan_cli.metrics import likelihood
from gan_cli.models.autoencoder import Decoder, Encoder, paired_rows, reconstruct
from gan_cli.registry import MODELS, OPTIMIZERS
from gan_cli.training import optim
from gan_cli.training.recipes.base import Recipe, RecipeContext

OPTIMIZER = "model"  # the one optimizer, over encoder and decoder


def kl_weight(beta: float, warmup_steps: int, updates: int) -> float:
    """The KL term's weight at update number `updates` (0-based): beta, reached linearly over
    warmup_steps updates (beta / warmup_steps at the first); beta from the start without warm-up."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, (updates + 1) / warmup_steps)


class VAERecipe(Recipe):
    name = "vae"
    watched = {"loss": "loss", "recon": "reconstruction loss"}

    def __init__(self, context: RecipeContext):
        cfg, decoder, encoder = context.cfg, context.generator, context.discriminator
        if not isinstance(decoder, Decoder) or not isinstance(encoder, Encoder):
            raise UserError(
                "recipe=vae trains an encoder and a decoder: model=vae or model=ae, "
                f"not model={cfg.model.name}"
            )
        settings = MODELS.settings(cfg.model)
        self.variational = encoder.variational
        self.beta = float(getattr(settings, "beta", 0.0))
        self.warmup = int(getattr(settings, "kl_warmup_steps", 0))
        lr, schedule = optim.learning_rates(cfg.optim)[0], optim.schedules(cfg.optim)[0]
        make = OPTIMIZERS.get(cfg.optim.name).builder
        parameters = [*decoder.parameters(), *encoder.parameters()]
        optimizer = make(cfg.optim, parameters, lr, context.device.type == "cuda")
        self.batch_size = int(cfg.trainer.batch_size)
        super().__init__(
            context,
            networks={"generator": decoder, "encoder": encoder},
            optimizers={OPTIMIZER: optimizer},
            examples_per_step=self.batch_size,
            lr_plan={OPTIMIZER: (schedule, lr)},
        )
        recipe_cfg = cfg.get("recipe") or {}
        self.recon_images = int(recipe_cfg.get("recon_images", 16))
        self.updates = 0  # steps taken: the KL warm-up's clock
        self._test_images: Tensor | None = None

    def step(self, batches: Any) -> dict[str, Tensor] | None:
        decoder, encoder = self.networks["generator"], self.networks["encoder"]
        x, _ = batches.next()
        target = decoder.target(x)
        with self.autocast():
            mean, log_var = encoder(decoder.encoder_input(target))
            if self.variational:
                z = likelihood.reparameterize(mean, log_var, torch.randn_like(mean))
                recon = -decoder.log_likelihood(decoder.decode(z), target)
                kl = likelihood.gaussian_kl(mean, log_var)
                weight = kl_weight(self.beta, self.warmup, self.updates)
                loss = (recon + weight * kl).mean()
            else:
                recon = -decoder.log_likelihood(decoder.decode(mean), target)
                loss = recon.mean()
        if not self.variational:
            decoder.fit_codes(mean)
        applied = self.update(OPTIMIZER, loss)
        self.updates += 1
        if not applied:
            return None
        stats = {"loss": loss.detach(), "recon": recon.mean().detach()}
        if self.variational:
            stats["kl"] = kl.mean().detach()
            stats["elbo"] = -(recon + kl).mean().detach()
        return stats

    def state_dict(self) -> dict:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state.get("updates", 0))

    def facts(self) -> dict[str, str]:
        decoder = self.networks["generator"]
        kind = decoder.likelihood + (" (binarized)" if decoder.binarize else "")
        if not self.variational:
            return {"loss": f"reconstruction, {kind}"}
        warmup = f", KL warm-up {self.warmup:,} steps" if self.warmup > 0 else ""
        return {"loss": f"-ELBO, {kind}, beta {self.beta:g}{warmup}"}

    # ---- the reconstruction view (the trainer writes samples/recon_step_NNNNNNN.png) ---------------
    def views(self) -> dict[str, Tensor]:
        """{"recon": a (3, H, W) grid in [0, 1] of fixed test images over their reconstructions}."""
        if self.recon_images <= 0:
            return {}
        from gan_cli.outputs import plots

        images = self.test_images()
        decoder, encoder = self.networks["generator"], self.networks["encoder"]
        modes = decoder.training, encoder.training
        decoder.eval(), encoder.eval()
        try:
            reconstructions = reconstruct(decoder, encoder, images)
        finally:
            decoder.train(modes[0]), encoder.train(modes[1])
        per_row = min(self.recon_images, 16)
        return {"recon": plots.image_grid(paired_rows(images, reconstructions, per_row), nrow=per_row)}

    def test_images(self) -> Tensor:
        """recon_images fixed images of the test split (the training set's where it has none)."""
        if self._test_images is None:
            from omegaconf import OmegaConf

            from gan_cli import data

            data_cfg = self.context.cfg.data
            is_config = OmegaConf.is_config(data_cfg)
            plain = OmegaConf.to_container(data_cfg, resolve=True) if is_config else dict(data_cfg)
            try:
                test = data.build(SimpleNamespace(**{**plain, "split": "test"}), "cpu", 1)
                self._test_images = test.real_sample(self.recon_images).float()
            except UserError:
                self._test_images = self.context.batches.real_sample(self.recon_images).float().cpu()
        return self._test_images
