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


# Anchors of a perceptually ordered dark-to-bright ramp (values read off matplotlib's "magma" at
# 0, 1/4, 1/2, 3/4, 1): quiet is near black, loud near pale yellow, and it reads in greyscale too.
SPECTROGRAM_COLORS = (
    (0.001, 0.000, 0.014),
    (0.317, 0.071, 0.485),
    (0.716, 0.215, 0.475),
    (0.987, 0.535, 0.382),
    (0.987, 0.991, 0.750),
)
# The range shown below the loudest cell of a grid: 80 dB (as librosa's power_to_db top_db), in
# natural-log power units (80 dB = 8 ln 10). Quieter cells are black; the log floor of silent
# frames (log 1e-6) would otherwise stretch the scale and wash out every sound.
SPECTROGRAM_RANGE = 8.0 * 2.302585092994046


def colormap(unit: Tensor) -> Tensor:
    """Values in [0, 1] (any shape S) -> (3, *S) colours of SPECTROGRAM_COLORS, piecewise linear."""
    anchors = torch.tensor(SPECTROGRAM_COLORS, dtype=torch.float32, device=unit.device)  # (K, 3)
    position = unit.clamp(0, 1) * (len(SPECTROGRAM_COLORS) - 1)
    low = position.floor().long().clamp_(max=len(SPECTROGRAM_COLORS) - 2)
    weight = (position - low).unsqueeze(-1)
    colours = anchors[low] * (1 - weight) + anchors[low + 1] * weight  # (*S, 3)
    return colours.movedim(-1, 0)


def spectrogram_grid(spectrograms: Tensor, nrow: int | None = None) -> Tensor:
    """Log-power spectrograms (N, bands, frames), band 0 the lowest -> one (3, H, W) grid in [0, 1].

    One tile per clip with low frequencies at the bottom, all on one scale for the whole grid (its
    loudest cell is brightest, SPECTROGRAM_RANGE below it black), so tiles compare by loudness.
    Short clips' tiles are drawn twice the size, so that a grid of 1 s clips is legible."""
    from torchvision.utils import make_grid

    values = spectrograms.detach().float().cpu()
    top = values.max() if values.numel() else values.new_tensor(0.0)
    bottom = max(float(values.min()), float(top) - SPECTROGRAM_RANGE) if values.numel() else 0.0
    span = float(top) - bottom
    unit = (values - bottom) / span if span > 0 else values.new_zeros(values.shape)
    tiles = colormap(unit.flip(1)).movedim(0, 1)  # (N, 3, bands, frames), low bands at the bottom
    if tiles.shape[-1] <= 128:
        tiles = tiles.repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2)
    nrow = nrow or max(1, int(round(tiles.shape[0] ** 0.5)))
    return make_grid(tiles, nrow=nrow, padding=2, pad_value=1.0)
