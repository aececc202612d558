"""An exponential moving average of the generator's weights (Karras et al. 2018, Yazici et al. 2019):
samples from the averaged generator are usually smoother and score better than the raw one."""

import copy

import torch
from torch import nn


def ema_decay(decay: float, updates: int, warmup: bool) -> float:
    """The decay used at update number `updates` (1-based). With warm-up, min(decay, (1+t)/(10+t)):
    early averages then forget the random initialisation quickly (the TensorFlow
    ExponentialMovingAverage num_updates rule)."""
    if not warmup:
        return decay
    return min(decay, (1 + updates) / (10 + updates))


class EMAGenerator:
    def __init__(self, generator: nn.Module, decay: float, warmup: bool = True):
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self._pairs = list(zip(self.module.parameters(), generator.parameters(), strict=True))
        self._buffers = list(zip(self.module.buffers(), generator.buffers(), strict=True))

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = ema_decay(self.decay, self.updates, self.warmup)
        averaged = [a for a, _ in self._pairs]
        current = [p for _, p in self._pairs]
        # ema <- ema + (1 - decay) * (p - ema) = decay * ema + (1 - decay) * p, one fused op for all
        torch._foreach_lerp_(averaged, current, 1.0 - decay)
        # BatchNorm statistics are not averaged: they describe the current generator's activations
        for mine, theirs in self._buffers:
            mine.copy_(theirs)

    def state_dict(self) -> dict:
        return {"weights": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = state["updates"]
