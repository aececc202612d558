"""Optimizers for G and D from the `optim` config group: one family, a rate for each network."""

import torch
from torch import nn

from gan_cli.errors import UserError


def learning_rates(cfg) -> tuple[float, float]:
    """(generator lr, discriminator lr): optim.g_lr / optim.d_lr when set, else optim.lr (TTUR)."""
    g_lr = cfg.g_lr if cfg.get("g_lr") is not None else cfg.lr
    d_lr = cfg.d_lr if cfg.get("d_lr") is not None else cfg.lr
    return float(g_lr), float(d_lr)


def _make(cfg, params, lr: float, fused: bool) -> torch.optim.Optimizer:
    name = cfg.name
    if name in ("adam", "adamw"):
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        extra = {"fused": True} if fused else {}
        return kind(
            params, lr=lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay, **extra
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    raise UserError(f"unknown optimizer '{name}'; valid optimizers: adam, adamw, rmsprop, sgd")


def build(cfg, generator: nn.Module, discriminator: nn.Module, device: torch.device):
    """Return (optimizer of G, optimizer of D). Fused Adam on CUDA: one kernel per step."""
    g_lr, d_lr = learning_rates(cfg)
    fused = device.type == "cuda"
    return _make(cfg, generator.parameters(), g_lr, fused), _make(
        cfg, discriminator.parameters(), d_lr, fused
    )


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
