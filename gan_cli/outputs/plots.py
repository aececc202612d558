"""Pictures of samples: image grids and 2D scatter plots, as tensors in [0, 1] (no plotting library)."""

import torch
from torch import Tensor

REAL_COLOR = (0.55, 0.55, 0.55)
FAKE_COLOR = (0.85, 0.15, 0.1)


def image_grid(images: Tensor, nrow: int | None = None) -> Tensor:
    """Images in [-1, 1] -> one (3, H, W) grid in [0, 1]."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, int(round(images.shape[0] ** 0.5)))
    return make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)


def scatter(real: Tensor, fake: Tensor, extent: float, size: int = 512, dot: int = 2) -> Tensor:
    """Real points (grey) and generated points (red) on a white square [-extent, extent]^2,
    as a (3, size, size) image in [0, 1]; y points up. Points outside the square are clipped."""
    canvas = torch.ones(3, size, size)
    for points, color in ((real, REAL_COLOR), (fake, FAKE_COLOR)):
        points = points.detach().float().cpu()
        pixels = ((points + extent) / (2 * extent) * (size - 1)).round().long()
        inside = ((pixels >= 0) & (pixels < size)).all(dim=1)
        cols, rows = pixels[inside, 0], (size - 1) - pixels[inside, 1]
        for dr in range(-dot + 1, dot):
            for dc in range(-dot + 1, dot):
                r, c = (rows + dr).clamp(0, size - 1), (cols + dc).clamp(0, size - 1)
                for channel, value in enumerate(color):
                    canvas[channel, r, c] = value
    # axes through the origin help judge positions
    middle = size // 2
    canvas[:, middle, :] = torch.minimum(canvas[:, middle, :], torch.tensor(0.85).expand(3, size))
    canvas[:, :, middle] = torch.minimum(canvas[:, :, middle], torch.tensor(0.85).expand(3, size))
    return canvas


def save_png(image: Tensor, path) -> None:
    """Write a (3, H, W) or (1, H, W) picture in [0, 1] as a PNG, atomically; a failure (a full
    disk) is one UserError naming the file, and no partial file is left behind."""
    from gan_cli.errors import UserError
    from gan_cli.outputs import atomic, images

    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)  # an RGB file, as torchvision's save_image writes it
    try:
        with atomic.replacing(path) as tmp:
            images.pil_image(images.unit_to_uint8(image)).save(tmp, format="PNG")
    except OSError as error:
        raise UserError(f"could not write {path}: {error.strerror or error}") from None
