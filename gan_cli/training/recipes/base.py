"""What a training recipe is: the networks and optimizers of one kind of model and its training
step. The trainer (gan_cli.training.trainer) runs any recipe the same way: it calls `step`, sums the
statistics it returns on the device, reads them once per log interval, checkpoints `networks`,
`optimizers` and `state_dict()`, averages networks["generator"] (EMA) and samples from it.

A recipe is registered with a builder that takes one `RecipeContext`:

    @RECIPES.register("moments", schema=MomentsConfig)
    def build(context: RecipeContext) -> Recipe: ...

Rules a step keeps (DESIGN.md): statistics stay on the device (no `.item()`, no `float()`), and
gradients are freed with set_to_none (`update` does both right).
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from gan_cli import distributed
from gan_cli.device import SpeedSwitches

GENERATOR = "generator"  # the one network every recipe has: what the trainer averages and samples
# How messages and the banner name the usual networks ("the D loss", "G 1,234 params", lr_g).
LABELS = {"generator": "G", "discriminator": "D"}


@dataclass
class RecipeContext:
    """Everything a recipe is built from.

    cfg: the whole train config (the recipe's own keys are cfg.recipe; cfg.optim, cfg.loss and
    cfg.trainer are there too). generator, discriminator: what the model family built for the data
    (a recipe without a discriminator ignores it). batches: the data (`.next()` -> (real, labels),
    `.kind`, `.shape`, `.n_classes`, `.num_examples`). context: the distributed context (rank, world
    size) when there is one."""

    cfg: Any
    generator: nn.Module
    discriminator: nn.Module | None
    batches: Any
    device: torch.device
    switches: SpeedSwitches
    context: Any = None

    @property
    def skip_nonfinite(self) -> bool:
        return self.cfg.trainer.get("on_nan", "stop") == "skip"


class Recipe:
    """Base class: subclasses set up their networks and optimizers, call `super().__init__`, and
    implement `step`. The rest has defaults a simple recipe keeps."""

    name = ""

    def __init__(
        self,
        context: RecipeContext,
        networks: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        examples_per_step: int,
        lr_plan: dict[str, tuple[str, float]] | None = None,
        updates_per_step: dict[str, int] | None = None,
    ):
        """networks: name -> module, "generator" among them (the generator contract:
        gan_cli.models.contract). optimizers: name -> optimizer, named after the network each steps.
        examples_per_step: real examples one step consumes on this rank (epochs and images/s count
        all ranks': this times the world size).
        lr_plan: optimizer name -> (schedule, base rate) (gan_cli.training.optim.scheduled_lr);
        default: constant at each optimizer's rate. updates_per_step: optimizer name -> updates per
        step (trainer.on_nan=skip compares what it dropped with them); default 1 each."""
        if GENERATOR not in networks:
            raise ValueError(f"recipe {self.name!r} has no network named {GENERATOR!r}")
        self.context, self.device = context, context.device
        self.networks, self.optimizers = dict(networks), dict(optimizers)
        self.lr_plan = lr_plan or {
            n: ("constant", o.param_groups[0]["lr"]) for n, o in self.optimizers.items()
        }
        self.updates_per_step = updates_per_step or {name: 1 for name in self.optimizers}
        # processes of one run (gan_cli.distributed): gradients are averaged over them before a step
        self.world_size = context.context.world_size if context.context is not None else 1
        self.examples_per_step = int(examples_per_step) * self.world_size  # what all ranks consume
        self._parameters = {
            name: [p for group in o.param_groups for p in group["params"]]
            for name, o in self.optimizers.items()
        }
        self.skip_nonfinite = context.skip_nonfinite
        self.skipped: Counter[str] = (
            Counter()
        )  # updates dropped by on_nan=skip, per optimizer; the trainer drains it
        fp16 = context.switches.precision == "16-mixed"
        # one loss scaler per optimizer: each has its own step
        self.scalers = {
            name: torch.amp.GradScaler(self.device.type) if fp16 else None for name in self.optimizers
        }
        dtype = context.switches.autocast_dtype
        self.autocast = (
            functools.partial(torch.autocast, self.device.type, dtype=dtype)
            if dtype
            else contextlib.nullcontext
        )
        self._stop_hook: Callable[[int, int], None] = lambda done, total: None

    # ---- what a recipe implements ------------------------------------------------------------------
    def step(self, batches: Any) -> dict[str, Tensor] | None:
        """One training step on batches drawn from `batches` (`batches.next()` as often as the step
        needs). Returns named 0-dim statistics on the device, or None when an update was dropped
        (trainer.on_nan=skip) and this step's statistics must not count."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Recipe state beyond networks and optimizers (a counter, a schedule position)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def facts(self) -> dict[str, str]:
        """Banner lines: "loss" (the objective), "step" (what one step does, added to the trainer
        line). Keys left out are not shown."""
        return {}

    # divergence messages name these statistics this way ("the D loss"); the rest: by their name
    watched: dict[str, str] = {}

    # ---- helpers for `step` --------------------------------------------------------------------------
    def label(self, name: str) -> str:
        """How the banner and messages name a network or its optimizer."""
        return LABELS.get(name, name)

    def update(self, name: str, objective: Tensor) -> bool:
        """Backward and step of optimizer `name`; False when trainer.on_nan=skip dropped a
        non-finite update (that check reads the loss on the host every step, the price of skipping)."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        if self.skip_nonfinite:
            nonfinite = not bool(torch.isfinite(objective.detach()))
            if self.world_size > 1:  # every rank drops the update when one rank's loss is not finite
                nonfinite = distributed.any_rank(nonfinite)
            if nonfinite:
                self.skipped[name] += 1
                return False
        scaler = self.scalers[name]
        # the same scale on every rank, so the averaged scaled gradients unscale alike
        (objective if scaler is None else scaler.scale(objective)).backward()
        if self.world_size > 1:
            distributed.average_gradients(self._parameters[name], self.world_size)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        return True

    def may_stop(self, done: int, total: int) -> None:
        """Call between the parts of a long step (`done` of `total` updates made): after Ctrl-C or
        SIGTERM it raises out of the step when the rest would take too long to wait for."""
        self._stop_hook(done, total)

    def attach_stop(self, hook: Callable[[int, int], None]) -> None:
        self._stop_hook = hook

    # ---- what the trainer reads ----------------------------------------------------------------------
    @property
    def generator(self) -> nn.Module:
        return self.networks[GENERATOR]

    def named_state(self) -> Iterator[tuple[str, Tensor]]:
        """Every tensor training computes, by a name a user can look up: weights, buffers (BatchNorm
        statistics are not parameters) and optimizer moments."""
        for name, network in self.networks.items():
            for key, tensor in network.state_dict().items():
                yield f"{self.label(name)} tensor {key}", tensor
        for name, optimizer in self.optimizers.items():
            for index, state in enumerate(optimizer.state.values()):
                for key, tensor in state.items():
                    yield f"{self.label(name)} optimizer's {key} of parameter {index}", tensor
