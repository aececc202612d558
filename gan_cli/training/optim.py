"""Optimizers for G and D from the `optim` config group: one family, a rate for each network.

Each optimizer registers in gan_cli.registry.OPTIMIZERS with its schema (the keys of its YAML
file) and ranges; torch is imported by the builders, so registering costs nothing at startup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional  # noqa: UP035 - OmegaConf reads these annotations, as in config.py

from gan_cli.errors import UserError
from gan_cli.registry import MAX_FLOAT, OPTIMIZERS, Range

SCHEDULES = ("constant", "linear")


# ---- the config keys ----------------------------------------------------------------------------
@dataclass
class OptimConfig:
    """Keys every optimizer has: the rates of G and D and their schedules."""

    name: str = "???"
    lr: float = 2e-4  # sets both networks; g_lr / d_lr give each its own (TTUR)
    g_lr: Optional[float] = None  # null: lr  # noqa
    d_lr: Optional[float] = None  # noqa
    schedule: str = "constant"  # constant | linear (decay to 0 at the last step)
    g_schedule: Optional[str] = None  # null: schedule  # noqa
    d_schedule: Optional[str] = None  # noqa


_FRACTION = Range(0.0, 1.0, high_open=True)
RATE_RANGES = {
    "lr": Range(0.0, MAX_FLOAT, low_open=True),
    "g_lr": Range(0.0, MAX_FLOAT, low_open=True, null=True, note="null: optim.lr"),
    "d_lr": Range(0.0, MAX_FLOAT, low_open=True, null=True, note="null: optim.lr"),
}
_EPS = Range(0.0, 1.0, low_open=True)
_DECAY = Range(0.0, MAX_FLOAT)


def _check_schedules(cfg: Any) -> None:
    for key in ("schedule", "g_schedule", "d_schedule"):
        value = cfg[key]
        if not (value is None or value in SCHEDULES):
            raise UserError(f"optim.{key}={value!r} is out of range: {' or '.join(SCHEDULES)}")


def _check_betas(cfg: Any) -> None:
    _check_schedules(cfg)
    if len(cfg.betas) != 2:
        raise UserError(f"optim.betas={list(cfg.betas)!r} is out of range: two numbers in [0, 1)")


@dataclass
class AdamOptim(OptimConfig):
    """Adam with the DCGAN settings (Radford et al. 2015): lr 2e-4, betas (0.5, 0.999)."""

    name: str = "adam"
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])  # noqa
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class AdamWOptim(AdamOptim):
    """AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with the DCGAN betas."""

    name: str = "adamw"
    weight_decay: float = 0.01


_ADAM_RANGES = {**RATE_RANGES, "betas": _FRACTION, "eps": _EPS, "weight_decay": _DECAY}


def _adam(name: str, torch_class: str):
    """The builder of Adam or AdamW (torch.optim.<torch_class>), which take the same keys."""

    def build(cfg: Any, params: Any, lr: float, fused: bool):
        import torch

        c = OPTIMIZERS.settings(cfg, name)
        extra = {"fused": True} if fused else {}
        optimizer = getattr(torch.optim, torch_class)
        return optimizer(params, lr=lr, betas=tuple(c.betas), eps=c.eps, weight_decay=c.weight_decay, **extra)

    return build


OPTIMIZERS.add(
    "adam",
    _adam("adam", "Adam"),
    schema=AdamOptim,
    summary="Adam, DCGAN betas (0.5, 0.999)",
    ranges=_ADAM_RANGES,
    check=_check_betas,
)
OPTIMIZERS.add(
    "adamw",
    _adam("adamw", "AdamW"),
    schema=AdamWOptim,
    summary="AdamW, decoupled weight decay 0.01",
    ranges=_ADAM_RANGES,
    check=_check_betas,
)


@dataclass
class RMSpropOptim(OptimConfig):
    """RMSProp; lr 5e-5 is the WGAN setting (Arjovsky et al. 2017)."""

    name: str = "rmsprop"
    lr: float = 5e-5
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0


@OPTIMIZERS.register(
    "rmsprop",
    schema=RMSpropOptim,
    summary="RMSProp, the WGAN rate 5e-5",
    ranges={**RATE_RANGES, "alpha": _FRACTION, "eps": _EPS, "momentum": _FRACTION, "weight_decay": _DECAY},
    check=_check_schedules,
)
def _rmsprop(cfg: Any, params: Any, lr: float, fused: bool):
    import torch

    c = OPTIMIZERS.settings(cfg, "rmsprop")
    return torch.optim.RMSprop(
        params, lr=lr, alpha=c.alpha, eps=c.eps, momentum=c.momentum, weight_decay=c.weight_decay
    )


@dataclass
class SGDOptim(OptimConfig):
    """Plain SGD with momentum: a baseline, rarely the best choice for GANs."""

    name: str = "sgd"
    lr: float = 1e-2
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0


def _check_sgd(cfg: Any) -> None:
    _check_schedules(cfg)
    if cfg.nesterov and cfg.momentum <= 0:
        raise UserError(f"optim.nesterov=true needs momentum: optim.momentum={cfg.momentum} (try 0.9)")


@OPTIMIZERS.register(
    "sgd",
    schema=SGDOptim,
    summary="SGD with momentum 0.9: a baseline",
    ranges={**RATE_RANGES, "momentum": _FRACTION, "weight_decay": _DECAY},
    check=_check_sgd,
)
def _sgd(cfg: Any, params: Any, lr: float, fused: bool):
    import torch

    c = OPTIMIZERS.settings(cfg, "sgd")
    return torch.optim.SGD(
        params, lr=lr, momentum=c.momentum, nesterov=c.nesterov, weight_decay=c.weight_decay
    )


# ---- what the trainer calls ---------------------------------------------------------------------
def learning_rates(cfg) -> tuple[float, float]:
    """(generator lr, discriminator lr): optim.g_lr / optim.d_lr when set, else optim.lr (TTUR)."""
    g_lr = cfg.g_lr if cfg.get("g_lr") is not None else cfg.lr
    d_lr = cfg.d_lr if cfg.get("d_lr") is not None else cfg.lr
    return float(g_lr), float(d_lr)


def build(cfg, generator, discriminator, device):
    """Return (optimizer of G, optimizer of D). Fused Adam on CUDA: one kernel per step."""
    make = OPTIMIZERS.get(cfg.name).builder
    g_lr, d_lr = learning_rates(cfg)
    fused = device.type == "cuda"
    return make(cfg, generator.parameters(), g_lr, fused), make(cfg, discriminator.parameters(), d_lr, fused)


def schedules(cfg) -> tuple[str, str]:
    """(generator schedule, discriminator schedule): optim.g_schedule / d_schedule or optim.schedule."""
    g = cfg.get("g_schedule") or cfg.get("schedule", "constant")
    d = cfg.get("d_schedule") or cfg.get("schedule", "constant")
    return g, d


def scheduled_lr(schedule: str, base_lr: float, step: int, total_steps: int) -> float:
    """The learning rate after `step` generator updates: constant, or linear decay reaching 0 at
    total_steps. A pure function of the step, so a resumed run needs no scheduler state."""
    if schedule == "linear":
        return base_lr * max(0.0, 1.0 - step / total_steps)
    return base_lr
