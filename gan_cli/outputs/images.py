"""The one conversion from float images to 8-bit pixels, used by every PNG, GIF and the extractors.

Generated images are floats in [-1, 1]; pictures (grids, scatter plots) are floats in [0, 1].
Both become uint8 the way torchvision's save_image rounds (x * 255 + 0.5, floored), so the pixels
`gan eval` feeds its extractor are exactly the ones `gan sample format=png` writes: scoring the
PNG files and scoring the generator in memory agree. torch is imported by the caller's tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image
    from torch import Tensor


def unit_to_uint8(pictures: Tensor) -> Tensor:
    """Floats in [0, 1] (any shape) -> uint8 on the same device."""
    import torch

    return pictures.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] (N, C, H, W) -> uint8 (N, C, H, W) on the same device."""
    return unit_to_uint8(images.add(1).div(2))


def pil_image(pixels: Tensor) -> Image:
    """One uint8 (C, H, W) image, C = 1 or 3 -> a PIL image (mode L or RGB)."""
    from PIL import Image as PIL

    array = pixels.detach().cpu().permute(1, 2, 0).numpy()
    return PIL.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
