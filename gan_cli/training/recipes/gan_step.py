"""The GAN training step: trainer.d_steps discriminator updates, then one generator update.

Hot-path rules (DESIGN.md): batches come from the device, losses and D outputs stay on the device,
gradients are freed with set_to_none, D's parameters are frozen during the G update so no gradient
is computed for weights nobody steps, and real and fake go through D in one forward where D has no
batch statistics.

Augmentation (cfg.augment, gan_cli.training.augment; off by default and when the key is absent):
`self.augment` is None when off, so the step pays one `is None` test and calls nothing. When on
(augment=diffaugment, Zhao et al. 2020), every image D judges is augmented, each with its own random
draws and before PacGAN packing: the real batch once per D step (the same augmented batch feeds the
D loss, R1 and, with loss.g_needs_real, the G step), the detached fakes in each D step, and the
fakes again, with fresh draws and their graph, in the G step. The gradient penalty interpolates
between the augmented real and fake packs and R1 differentiates D at the augmented real images:
both regularize D at the inputs it sees. Labels are untouched.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gan_cli.data.kinds import kind_named
from gan_cli.models import contract
from gan_cli.models.common import pack_samples
from gan_cli.training import augment, losses, optim, penalties
from gan_cli.training.recipes.base import Recipe, RecipeContext


class GANRecipe(Recipe):
    name = "gan"
    watched = {"d_loss": "D loss", "g_loss": "G loss"}

    def __init__(self, context: RecipeContext):
        cfg, G, D = context.cfg, context.generator, context.discriminator
        g_optimizer, d_optimizer = optim.build(cfg.optim, G, D, context.device)
        (g_lr, d_lr), (g_schedule, d_schedule) = optim.learning_rates(cfg.optim), optim.schedules(cfg.optim)
        trainer = cfg.trainer
        self.batch_size, self.d_steps = int(trainer.batch_size), int(trainer.d_steps)
        super().__init__(
            context,
            networks={"generator": G, "discriminator": D},
            optimizers={"generator": g_optimizer, "discriminator": d_optimizer},
            examples_per_step=self.batch_size * self.d_steps,
            lr_plan={"generator": (g_schedule, g_lr), "discriminator": (d_schedule, d_lr)},
            updates_per_step={"generator": 1, "discriminator": self.d_steps},
        )
        self.loss = losses.build(cfg.loss)
        self.loss_cfg = cfg.loss
        self.z_dim = G.z_dim
        self.d_updates = 0  # counts D steps for lazy R1
        # trainer.pack (PacGAN): D sees batch_size / pack packs; config.validate made it divide.
        self.pack = int(trainer.get("pack", 1))
        # model.cond (gan_cli.models): G takes the batch's labels; D reads them (concat, projection)
        # or predicts them (acgan's class head, weighted by loss.ac_weight)
        self.conditional = contract.takes_labels(G)
        cond = getattr(D, "cond", "none")
        self.conditional_d = cond in ("concat", "projection")
        self.class_head = bool(getattr(D, "has_class_head", False))
        # augment=diffaugment: D's inputs, real and fake, augmented (None: off; the module docstring)
        batches = context.batches
        self.augment = augment.build(cfg.get("augment"), batches.shape, kind_named(batches.kind).describe)
        self._setup_speed(G, D)

    def _setup_speed(self, G: nn.Module, D: nn.Module) -> None:
        """channels_last, torch.compile and the fused D forward (autocast and loss scaling: Recipe)."""
        switches = self.context.switches
        self.channels_last = switches.channels_last and kind_named(self.context.batches.kind).conv_layout
        if self.channels_last:
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
        # compiled callables for the step; the plain modules stay for EMA, samples and checkpoints
        mode = None if switches.compile == "true" else switches.compile
        compiled = switches.compile != "false"
        self._G = torch.compile(G, mode=mode) if compiled else G
        self._D = torch.compile(D, mode=mode) if compiled else D
        self.cuda_graphs = switches.compile == "reduce-overhead" and self.device.type == "cuda"
        # One D forward over real and fake together halves the kernel launches; only exact when no
        # layer of D computes batch statistics (BatchNorm would then mix real and fake).
        # The minibatch standard deviation layer is a batch statistic too (``mixes_batch``).
        self.fuse_d = not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_batch", False)
            for m in D.modules()
        )

    # ---- what D says of a batch -------------------------------------------------------------------
    def _judge(self, D, x: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """D's logits for x (packed as D sees it) and, for AC-GAN, the class logits of its samples.
        labels: one per sample (None for an unconditional D, which is called as before)."""
        if self.class_head:
            logits, class_logits = D(x, labels, with_classes=True)
            return logits.float(), class_logits
        if self.conditional_d:
            return D(x, labels).float(), None
        return D(x).float(), None

    # ---- what a variant of the step changes (InfoGAN: gan_cli.training.recipes.infogan) -------------
    def _draw_latent(self, n: int) -> Tensor:
        """The latents of one batch of fakes (the last D step's feed the G update too)."""
        return torch.randn(n, self.z_dim, device=self.device)

    def _judge_fakes(
        self, D, x: Tensor, labels: Tensor | None
    ) -> tuple[Tensor, Tensor | None, Tensor | None, dict[str, Tensor]]:
        """The G update's look at its fakes x (packed): D's logits and class logits (as _judge), plus
        a term added to G's objective and its statistics (None and {}: none)."""
        logits, classes = self._judge(D, x, labels)
        return logits, classes, None, {}

    # ---- one generator update (and its d_steps discriminator updates) -----------------------------
    def step(self, batches) -> dict[str, Tensor] | None:
        G, D, loss, raw_D = self._G, self._D, self.loss, self.networks["discriminator"]
        batch_size, d_steps, pack = self.batch_size, self.d_steps, self.pack
        conditional, judge, augment = self.conditional, self._judge, self.augment
        stats: dict[str, Tensor] = {}

        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # outputs of the last step may be reused
        for i in range(d_steps):
            if i > 0:
                self.may_stop(i, d_steps)
            real, labels = batches.next()
            if augment is not None:
                real = augment(real)  # before R1's requires_grad_: R1 acts on the images D sees
            if self.channels_last:
                real = real.contiguous(memory_format=torch.channels_last)
            z = self._draw_latent(batch_size)
            # A conditional G draws its fakes for the real batch's labels: fakes then follow the data's
            # class frequencies, and real and fake (and GP's interpolates) share their labels.
            g_input = (z, labels) if conditional else (z,)
            self.d_updates += 1
            r1_now = loss.r1_gamma > 0 and self.d_updates % loss.r1_every == 0
            if r1_now:
                real.requires_grad_(True)
            with self.autocast():
                if i == d_steps - 1:
                    fake = G(*g_input)  # kept with its graph: the G update reuses it through the updated D
                else:
                    with torch.no_grad():
                        fake = G(*g_input)
                # packs are views of the batch; the penalties below act on them, as D sees them
                fake_seen = fake.detach() if augment is None else augment(fake.detach())
                real_packed, fake_packed = pack_samples(real, pack), pack_samples(fake_seen, pack)
                if self.fuse_d:
                    both_labels = torch.cat((labels, labels)) if self.conditional_d else None
                    both, both_classes = judge(D, torch.cat((real_packed, fake_packed)), both_labels)
                    real_logits, fake_logits = both.split(batch_size // pack)
                    real_classes = both_classes[:batch_size] if both_classes is not None else None
                else:
                    real_logits, real_classes = judge(D, real_packed, labels)
                    fake_logits, _ = judge(D, fake_packed, labels)
                d_loss = loss.d_loss(real_logits, fake_logits)
                d_objective = d_loss
                if real_classes is not None:
                    # AC-GAN: D learns the classes of real images only (the variant of
                    # Odena et al. 2017, whose D also fits the fakes' requested labels)
                    ac_real = losses.class_loss(real_classes, labels)
                    d_objective = d_objective + loss.ac_weight * ac_real
                if loss.gp_lambda > 0:
                    gp_labels = labels if self.conditional_d else None
                    gp = penalties.gradient_penalty(raw_D, real_packed, fake_packed, labels=gp_labels)
                    d_objective = d_objective + loss.gp_lambda * gp
                if r1_now:
                    r1 = penalties.r1_penalty(real_logits, real_packed)
                    d_objective = d_objective + penalties.lazy_weight(loss.r1_gamma, loss.r1_every) * r1
            # read before D runs again: CUDA graphs (compile=reduce-overhead) reuse output buffers
            d_outputs = (loss.d_output(real_logits), loss.d_output(fake_logits))
            applied = self.update("discriminator", d_objective)
            if loss.clip > 0:
                penalties.clip_weights_(raw_D, loss.clip)

        raw_D.requires_grad_(False)
        with self.autocast():
            g_fake = fake if augment is None else augment(fake)  # fresh draws; G's gradient flows through
            g_fake_logits, fake_classes, g_extra, extra_stats = self._judge_fakes(
                D, pack_samples(g_fake, pack), labels
            )
            if loss.g_needs_real:
                real_logits, _ = judge(D, pack_samples(real.detach(), pack), labels)
                g_loss = loss.g_loss(g_fake_logits, real_logits)
            else:
                g_loss = loss.g_loss(g_fake_logits)
            g_objective = g_loss
            if fake_classes is not None:
                ac_fake = losses.class_loss(fake_classes, labels)
                g_objective = g_objective + loss.ac_weight * ac_fake
                stats = {"ac_real": ac_real.detach(), "ac_fake": ac_fake.detach()}
            if g_extra is not None:  # a variant's own term of G's objective (InfoGAN's)
                g_objective = g_objective + g_extra
                stats.update(extra_stats)
        applied = self.update("generator", g_objective) and applied
        raw_D.requires_grad_(True)
        if not applied:
            return None
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": d_outputs[0],
            "d_fake": d_outputs[1],
            **stats,
        }

    def state_dict(self) -> dict:
        return {"d_updates": self.d_updates}

    def load_state_dict(self, state: dict) -> None:
        self.d_updates = int(state.get("d_updates", 0))

    def facts(self) -> dict[str, str]:
        extras = [
            f"{key} {self.loss_cfg[key]:g}"
            for key in ("gp_lambda", "r1_gamma", "clip")
            if self.loss_cfg.get(key, 0) > 0
        ]
        step = f"d_steps {self.d_steps}" + (
            f", {self.augment.describe()}" if self.augment is not None else ""
        )
        return {"loss": "  ".join([self.loss_cfg.name, *extras]), "step": step}


class InfoGANRecipe(GANRecipe):
    """InfoGAN (Chen et al. 2016; recipe=infogan, registered in recipes/infogan.py): the GAN step
    above, with G's latents carrying codes (gan_cli.models.infogan: noise, categorical one-hots,
    continuous codes in [-1, 1]) and a Q head on D's trunk features. D's steps are the GAN's, Q out
    of them (not called, not in D's optimizer). In the G update, D frozen as ever, one pass of D's
    trunk over the fakes gives both D's logits and phi; Q reads phi, and lambda_cat x the categorical
    cross-entropy plus lambda_cont x the Gaussian NLL of the codes the fakes were drawn with join
    G's objective. Q's parameters are a second parameter group of G's optimizer (G's rate and
    schedule): the mutual-information terms train G and Q together."""

    name = "infogan"
    watched = {**GANRecipe.watched, "info_cat": "categorical code loss", "info_cont": "continuous code loss"}

    def __init__(self, context: RecipeContext):
        from gan_cli.models import infogan

        r, G, D = context.cfg.recipe, context.generator, context.discriminator
        self.codes = infogan.layout(G.z_dim, r.categorical, r.continuous)
        self.learn_std = bool(r.learn_std)
        self.lambda_cat, self.lambda_cont = float(r.lambda_cat), float(r.lambda_cont)
        super().__init__(context)
        infogan.attach(G, self.codes)  # sample_latent: the trainer's grids, the EMA, checkpoints' G
        Q = infogan.build_q_head(self._phi_size(D), self.codes, self.learn_std, int(r.q_hidden))
        Q = Q.to(self.device)
        self.networks["q"] = Q
        self.optimizers["generator"].add_param_group({"params": list(Q.parameters())})
        self._categories: Tensor | None = None  # the codes of the last fakes drawn
        self._continuous: Tensor | None = None

    def _phi_size(self, D: nn.Module) -> int:
        """The numbers of D's trunk features for one sample: one pass over two zero images in eval
        mode (BatchNorm's statistics and spectral norm's vectors stay as they are)."""
        was_training = D.training
        D.eval()
        try:
            with torch.no_grad():
                _, phi = D.features(torch.zeros(2, *self.context.batches.shape, device=self.device))
        finally:
            D.train(was_training)
        return int(phi[0].numel())

    def _draw_latent(self, n: int) -> Tensor:
        from gan_cli.models import infogan

        z, self._categories, self._continuous = infogan.draw(self.codes, n, device=self.device)
        return z

    def _judge_fakes(self, D, x: Tensor, labels: Tensor | None):
        from gan_cli.models import infogan

        logits, phi = self.networks["discriminator"].features(x)
        q_out = self.networks["q"](phi).float()
        cat_logits, mean, log_std = infogan.split_q(self.codes, q_out, self.learn_std)
        extra, stats = None, {}
        if self.codes.categorical:
            info_cat = infogan.categorical_nll(cat_logits, self._categories)
            extra, stats["info_cat"] = self.lambda_cat * info_cat, info_cat.detach()
        if self.codes.continuous:
            info_cont = infogan.gaussian_nll(self._continuous, mean, log_std)
            term = self.lambda_cont * info_cont
            extra, stats["info_cont"] = (term if extra is None else extra + term), info_cont.detach()
        return logits.float(), None, extra, stats

    def label(self, name: str) -> str:
        return "Q" if name == "q" else super().label(name)

    def facts(self) -> dict[str, str]:
        facts = super().facts()
        std = "learned std" if self.learn_std else "std 1"
        facts["loss"] += (
            f"  + InfoGAN ({self.codes.describe()}; lambda_cat {self.lambda_cat:g}, "
            f"lambda_cont {self.lambda_cont:g}, {std})"
        )
        return facts
