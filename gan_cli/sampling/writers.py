"""The files `gan sample` writes. Each whole file is written atomically (gan_cli.outputs.atomic):
an interrupted run never leaves a half-written file that looks complete. Pixels come from the one
uint8 conversion (gan_cli.outputs.images)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gan_cli.outputs import atomic

if TYPE_CHECKING:
    import torch

GIF_FRAME_MS = 150


def write_npy(generated: Iterable[torch.Tensor], n: int, shape: tuple[int, ...], path: Path) -> Path:
    """float32 (n, *shape), written batch by batch: 50,000 CIFAR images need not fit in memory twice."""
    import numpy as np

    with atomic.replacing(path) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, *shape))
        filled = 0
        for batch in generated:
            array[filled : filled + batch.shape[0]] = batch.numpy()
            filled += batch.shape[0]
        array.flush()
        del array  # the memory map holds the file open until it is gone
    return path


def labels_path(npy: Path) -> Path:
    """Where the labels of <name>.npy go: <name>.labels.npy beside it."""
    return npy.with_name(f"{npy.stem}.labels.npy")


def write_labels(labels: torch.Tensor, path: Path) -> Path:
    """int64 (n,): the class each sample of the .npy beside it was asked for."""
    import numpy as np

    with atomic.replacing(path) as tmp:
        with open(tmp, "wb") as file:
            np.save(file, labels.cpu().numpy().astype(np.int64))
    return path


def png_name(index: int, n: int, label: int | None = None) -> str:
    """000012.png; a sample of a conditional generator carries its class: 000012-class3.png."""
    digits = max(6, len(str(n - 1)))
    return f"{index:0{digits}d}.png" if label is None else f"{index:0{digits}d}-class{label}.png"


def write_png_folder(
    generated: Iterable[torch.Tensor], n: int, folder: Path, labels: torch.Tensor | None = None
) -> Path:
    """One PNG per sample, 000000.png on (000000-class3.png with labels); each file is small:
    written as it is, not renamed."""
    from gan_cli.outputs.images import pil_image, to_uint8

    folder.mkdir(parents=True, exist_ok=True)
    index = 0
    for batch in generated:
        for pixels in to_uint8(batch):
            label = None if labels is None else int(labels[index])
            pil_image(pixels).save(folder / png_name(index, n, label))
            index += 1
    return folder


def write_view(picture: torch.Tensor, path: Path) -> Path:
    """A data kind's view of the samples (DataKind.view: a grid, a scatter plot) as a PNG."""
    from gan_cli.outputs import plots

    plots.save_png(picture, path)
    return path


def write_grid(images: torch.Tensor, nrow: int | None, path: Path) -> Path:
    from gan_cli.outputs import plots

    return write_view(plots.image_grid(images, nrow), path)


def write_gif(
    walks: torch.Tensor, path: Path, view: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> Path:
    """walks (rows, steps, *sample shape): frame j is the view (default: the image grid) of every
    row's j-th sample; view maps samples to a (3, H, W) picture in [0, 1] (a data kind's view)."""
    from gan_cli.outputs import plots
    from gan_cli.outputs.images import pil_image, unit_to_uint8

    view = view or plots.image_grid
    frames = [pil_image(unit_to_uint8(view(walks[:, step]))) for step in range(walks.shape[1])]
    with atomic.replacing(path) as tmp:
        frames[0].save(tmp, save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0)
    return path
