"""A tiny labeled image set that a classifier can learn: class c is a bright band at rows 2c..2c+2
over dim noise, written as MNIST-format IDX files that torchvision's MNIST class reads."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.data.fakes import write_idx_images, write_idx_labels


def banded_images(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 60, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        images[index, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
    return images, labels


def write_banded_idx_set(raw_folder: Path, train_count: int = 300, test_count: int = 100) -> None:
    raw_folder.mkdir(parents=True, exist_ok=True)
    for prefix, count, seed in (("train", train_count, 1), ("t10k", test_count, 2)):
        images, labels = banded_images(count, seed)
        write_idx_images(raw_folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw_folder / f"{prefix}-labels-idx1-ubyte", labels)


def mnist_cfg(root: Path, **fields) -> dict:
    """The data config a checkpoint of `gan train data=mnist` carries, pointed at root."""
    return {"name": "mnist", "root": str(root), "download": False, "split": "train", **fields}
