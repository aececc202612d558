"""Differentiable augmentation of D's inputs: `augment=diffaugment` (DiffAugment, Zhao et al. 2020,
"Differentiable Augmentation for Data-Efficient GAN Training", sec. 3), `augment=none` the default.

D sees every image, real and fake, through the same random transformations, in the D step and in
the G step; each transformation is differentiable w.r.t. the image, so G's gradient flows back
through it. With few training images (a few thousand or less) D otherwise memorizes them and its
feedback to G collapses; the augmentation keeps D from overfitting without leaking the
augmentation into G's samples (real and fake are augmented alike, only D's view changes).

The ops (``augment.policy``, in the order given; the paper's and its code's definitions and ranges):

- ``color``: ``brightness`` (add U(-0.5, 0.5) per image), then ``saturation`` (scale each pixel's
  deviation from its mean over the channels by U(0, 2); the identity for 1-channel images), then
  ``contrast`` (scale the deviation from the image's mean over channels and pixels by U(0.5, 1.5),
  which keeps that mean). The three may also be named alone.
- ``translation``: shift by a whole number of pixels, up to 1/8 of the height (rows) and of the
  width (columns), independently, with zero fill.
- ``cutout``: zero a rectangle of half the height and half the width whose centre is uniform over
  the image (clipped at the borders, as in the paper's code).

Images here are in [-1, 1], as in the paper's code (StyleGAN2 and BigGAN feed D images in [-1, 1];
the colour ranges above are on that scale, and the zeros of translation and cutout are mid-grey).
Every random parameter is drawn per image with torch's global generator on the images' device, so a
resumed run draws what an unbroken one does. ``augment.p`` < 1 applies the whole policy to each
image with probability p (the others pass unchanged).

This module registers the `augment` options (gan_cli.registry.AUGMENTS) and parses the policy
without torch; torch is imported inside the ops, so `gan --help` and config errors stay fast.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError
from gan_cli.registry import AUGMENTS, Range

if TYPE_CHECKING:
    from torch import Tensor

# A policy's words -> the ops they stand for, in the paper's order.
POLICY_WORDS: dict[str, tuple[str, ...]] = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
    "brightness": ("brightness",),
    "saturation": ("saturation",),
    "contrast": ("contrast",),
}
DEFAULT_POLICY = "color,translation,cutout"
TRANSLATION_RATIO = 0.125  # of the height and of the width (Zhao et al. 2020, sec. 3)
CUTOUT_RATIO = 0.5


# ---- the config keys ----------------------------------------------------------------------------
@dataclass
class NoAugmentConfig:
    """augment=none: D sees the images as they are."""

    name: str = "none"


@dataclass
class DiffAugmentConfig:
    name: str = "diffaugment"
    # ops applied in order: a comma string or a list of color, translation, cutout (and brightness,
    # saturation, contrast, the three parts of color); Any: OmegaConf takes both forms
    policy: Any = DEFAULT_POLICY
    p: float = 1.0  # probability per image that the whole policy applies (the paper: 1)


# ---- the policy ---------------------------------------------------------------------------------
def parse_policy(policy: Any, key: str = "augment.policy") -> tuple[str, ...]:
    """The policy's words (a comma string or a list of strings), checked: an unknown, repeated or
    missing word is one line naming the valid ones. torch-free (config checks call it)."""
    valid = ", ".join(POLICY_WORDS)
    if isinstance(policy, str):
        words = [word.strip() for word in policy.split(",")]
    elif isinstance(policy, Sequence) or (hasattr(policy, "__iter__") and not isinstance(policy, dict)):
        words = list(policy)
    else:
        raise UserError(f"{key}={policy!r} is invalid: a comma string or a list of ops ({valid})")
    words = [word for word in words if word != ""]
    if not words:
        raise UserError(f"{key} is empty: name ops ({valid}), or use augment=none")
    seen: list[str] = []
    for word in words:
        if not isinstance(word, str) or word not in POLICY_WORDS:
            close = difflib.get_close_matches(str(word), list(POLICY_WORDS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UserError(f"{key}: unknown op {word!r}{hint}; valid: {valid}")
        if word in seen:
            raise UserError(f"{key} names {word} twice; each op applies once")
        seen.append(word)
    return tuple(seen)


def ops_of(words: Sequence[str]) -> tuple[str, ...]:
    """The ops a policy's words stand for, in order (color -> brightness, saturation, contrast)."""
    return tuple(op for word in words for op in POLICY_WORDS[word])


def check(cfg: Any) -> None:
    """diffaugment's own rules (config.validate calls it): the policy parses."""
    parse_policy(cfg.policy)


# ---- the ops: pure given their parameters; None draws them per image ----------------------------
def _uniform(x: Tensor, low: float, high: float) -> Tensor:
    import torch

    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def _per_image(x: Tensor, value: Any) -> Tensor:
    import torch

    return torch.as_tensor(value, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)


def brightness(x: Tensor, shift: Any = None) -> Tensor:
    """x + b per image, b ~ U(-0.5, 0.5) (or `shift`, one per image)."""
    b = _uniform(x, -0.5, 0.5) if shift is None else _per_image(x, shift)
    return x + b


def saturation(x: Tensor, factor: Any = None) -> Tensor:
    """Each pixel's deviation from its mean over the channels times s per image, s ~ U(0, 2) (or
    `factor`). 1-channel images: the identity (the mean is the pixel), nothing drawn."""
    if x.shape[1] == 1:
        return x
    s = _uniform(x, 0.0, 2.0) if factor is None else _per_image(x, factor)
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * s + mean


def contrast(x: Tensor, factor: Any = None) -> Tensor:
    """The deviation from the image's mean (over channels and pixels) times c per image,
    c ~ U(0.5, 1.5) (or `factor`): the image's mean is kept."""
    c = _uniform(x, 0.5, 1.5) if factor is None else _per_image(x, factor)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * c + mean


def max_shift(height: int, width: int, ratio: float = TRANSLATION_RATIO) -> tuple[int, int]:
    """The largest translation in rows and columns: 1/8 of each side, rounded (the paper's code)."""
    return int(height * ratio + 0.5), int(width * ratio + 0.5)


def translation(x: Tensor, shift: Any = None) -> Tensor:
    """Each image moved down by dy and right by dx pixels (negative: up, left), zeros where nothing
    moves in: out[n, :, i, j] = x[n, :, i - dy, j - dx]. `shift`: (N, 2) integers (dy, dx); None
    draws each uniformly in [-m, m] with m = max_shift. A gather, so the gradient reaches x."""
    import torch

    n, c, h, w = x.shape
    if shift is None:
        my, mx = max_shift(h, w)
        dy = torch.randint(-my, my + 1, (n, 1), device=x.device)
        dx = torch.randint(-mx, mx + 1, (n, 1), device=x.device)
    else:
        shift = torch.as_tensor(shift, dtype=torch.long, device=x.device).reshape(n, 2)
        dy, dx = shift[:, :1], shift[:, 1:]
    rows = torch.arange(h, device=x.device) - dy  # (N, H): the source row of each output row
    cols = torch.arange(w, device=x.device) - dx  # (N, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    index = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]  # (N, H, W)
    moved = x.reshape(n, c, h * w).gather(2, index.reshape(n, 1, h * w).expand(n, c, h * w))
    return moved.reshape(n, c, h, w) * inside[:, None].to(x.dtype)


def cutout_size(height: int, width: int, ratio: float = CUTOUT_RATIO) -> tuple[int, int]:
    """Rows and columns zeroed: half of each side, rounded (the paper's code)."""
    return int(height * ratio + 0.5), int(width * ratio + 0.5)


def cutout(x: Tensor, center: Any = None) -> Tensor:
    """Each image times a mask that is 0 on a rectangle of cutout_size rows and columns (half the
    image's) and 1 elsewhere. The rectangle spans rows cy - size // 2 .. cy - size // 2 + size - 1
    (and columns likewise), clipped at the borders. `center`: (N, 2) integers (cy, cx); None draws
    them uniformly in 0..H (0..H - 1 for an odd size; the paper's code), so the rectangle lies wholly
    inside the image only sometimes."""
    import torch

    n, _, h, w = x.shape
    sh, sw = cutout_size(h, w)
    if center is None:
        cy = torch.randint(0, h + 1 - sh % 2, (n, 1), device=x.device)
        cx = torch.randint(0, w + 1 - sw % 2, (n, 1), device=x.device)
    else:
        center = torch.as_tensor(center, dtype=torch.long, device=x.device).reshape(n, 2)
        cy, cx = center[:, :1], center[:, 1:]
    rows = torch.arange(h, device=x.device) - (cy - sh // 2)  # (N, H): 0..sh-1 inside the rectangle
    cols = torch.arange(w, device=x.device) - (cx - sw // 2)
    hole = ((rows >= 0) & (rows < sh))[:, :, None] & ((cols >= 0) & (cols < sw))[:, None, :]
    return x * (~hole)[:, None].to(x.dtype)


OPS = {
    "brightness": brightness,
    "saturation": saturation,
    "contrast": contrast,
    "translation": translation,
    "cutout": cutout,
}


class DiffAugment:
    """The policy as one callable: images (N, C, H, W) -> augmented images, same shape, dtype and
    memory format. p: the probability per image that the whole policy applies."""

    def __init__(self, policy: Any = DEFAULT_POLICY, p: float = 1.0):
        self.words = parse_policy(policy)
        self.ops = tuple(OPS[op] for op in ops_of(self.words))
        if not 0.0 <= p <= 1.0:
            raise UserError(f"augment.p={p!r} is out of range: a number >= 0 and <= 1")
        self.p = float(p)

    def describe(self) -> str:
        """For the banner's trainer line: "augment color,translation,cutout" (and p when < 1)."""
        return f"augment {','.join(self.words)}" + (f" p {self.p:g}" if self.p < 1 else "")

    def __repr__(self) -> str:
        return f"DiffAugment({','.join(self.words)}, p={self.p:g})"

    def __call__(self, x: Tensor) -> Tensor:
        import torch

        if self.p == 0.0:
            return x
        out = x
        for op in self.ops:
            out = op(out)
        if self.p < 1.0:
            chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < self.p
            out = torch.where(chosen, out, x)
        if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            out = out.contiguous(memory_format=torch.channels_last)  # the gathers return NCHW
        return out


# ---- the registered options ---------------------------------------------------------------------
@AUGMENTS.register("none", schema=NoAugmentConfig, summary="D sees the images as they are (the default)")
def build_none(cfg: Any, shape: Sequence[int], holds: str = "") -> None:
    return None


@AUGMENTS.register(
    "diffaugment",
    schema=DiffAugmentConfig,
    summary="DiffAugment (Zhao et al. 2020): colour, translation, cutout of real and fake before D",
    ranges={"p": Range(0.0, 1.0, note="probability per image")},
    check=check,
)
def build_diffaugment(cfg: Any, shape: Sequence[int], holds: str = "") -> DiffAugment:
    """shape: one sample's, (C, H, W) for images; anything else (2D points) is refused in one line.
    holds: how the data's samples are named in that line ("2D points")."""
    settings = AUGMENTS.settings(cfg, "diffaugment")
    if len(shape) != 3:
        what = holds or f"samples of shape {tuple(shape)}"
        raise UserError(
            f"augment=diffaugment transforms images (channels, height, width); this data set holds "
            f"{what} (shape {tuple(shape)}): use augment=none"
        )
    return DiffAugment(settings.policy, settings.p)


def build(cfg: Any, shape: Sequence[int], holds: str = "") -> DiffAugment | None:
    """The augmentation cfg (the train config's `augment` node) picks for samples of `shape`; None
    when off (augment=none, or a config composed before the augment group existed)."""
    name = None if cfg is None else (cfg.get("name") if hasattr(cfg, "get") else getattr(cfg, "name", None))
    if name is None:
        return None
    return AUGMENTS.build(name, cfg, shape, holds)
