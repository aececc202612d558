"""Builders of small on-disk data sets in the formats torchvision reads, and a config stand-in."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import signal
import struct
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import torch


def data_cfg(**fields) -> SimpleNamespace:
    """Configs reach the data package as any object with attributes; a namespace is the plainest."""
    return SimpleNamespace(**fields)


def write_idx_images(path: Path, images: torch.Tensor) -> None:
    count, height, width = images.shape
    path.write_bytes(
        struct.pack(">IIII", 2051, count, height, width) + images.to(torch.uint8).numpy().tobytes()
    )


def write_idx_labels(path: Path, labels: torch.Tensor) -> None:
    path.write_bytes(struct.pack(">II", 2049, len(labels)) + labels.to(torch.uint8).numpy().tobytes())


def fake_idx_split(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 28x28 digits whose first image holds both pixel extremes, and labels 0..9."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 28, 28), generator=generator, dtype=torch.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = torch.arange(count) % 10
    return images, labels


def write_idx_set(raw_folder: Path, train_count: int = 12, test_count: int = 5) -> dict:
    """The four uncompressed IDX files torchvision's MNIST-family classes look for in <root>/<Class>/raw."""
    raw_folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": fake_idx_split(train_count, 1), "t10k": fake_idx_split(test_count, 2)}
    for prefix, (images, labels) in splits.items():
        write_idx_images(raw_folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw_folder / f"{prefix}-labels-idx1-ubyte", labels)
    return splits


def assert_one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message
    return message


def write_cifar_set(folder: Path, per_train_batch: int = 2, test_count: int = 3) -> dict:
    """CIFAR-10 python batches (pickled dicts of (n, 3072) uint8 rows, R then G then B planes).

    Returns the arrays written and each file's md5, which the tests hand to torchvision's CIFAR10
    class in place of the real checksums (see test_cifar10_batches_are_read_by_torchvision).
    """
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(7)

    def write_batch(name: str, count: int) -> tuple[torch.Tensor, list[int]]:
        rows = torch.randint(0, 256, (count, 3 * 32 * 32), generator=generator, dtype=torch.uint8)
        labels = [(len(name) + index) % 10 for index in range(count)]
        with open(folder / name, "wb") as file:
            pickle.dump({"batch_label": name, "data": rows.numpy(), "labels": labels}, file)
        return rows, labels

    train = [write_batch(f"data_batch_{number}", per_train_batch) for number in range(1, 6)]
    test = write_batch("test_batch", test_count)
    with open(folder / "batches.meta", "wb") as file:
        pickle.dump({"label_names": [f"class{index}" for index in range(10)]}, file)
    md5 = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    return {
        "train_rows": torch.cat([rows for rows, _ in train]),
        "train_labels": [label for _, labels in train for label in labels],
        "test_rows": test[0],
        "test_labels": test[1],
        "md5": md5,
    }


def write_png(path: Path, width: int, height: int, mode: str = "RGB", seed: int = 0) -> None:
    from PIL import Image

    generator = torch.Generator().manual_seed(seed)
    channels = 1 if mode == "L" else 3
    pixels = torch.randint(0, 256, (height, width, channels), generator=generator, dtype=torch.uint8)
    pixels[0, 0] = 0
    pixels[-1, -1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.squeeze(-1).numpy() if channels == 1 else pixels.numpy()).save(path)


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM interrupts even a blocking open() or read()."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def write_jpeg(path: Path, size: int = 24, seed: int = 0, keep: float = 1.0) -> None:
    """A random RGB JPEG; keep < 1 cuts the file to that share of its bytes, as an interrupted copy does."""
    from PIL import Image

    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (size, size, 3), generator=generator, dtype=torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.numpy()).save(path, quality=90)
    if keep < 1:
        content = path.read_bytes()
        path.write_bytes(content[: int(len(content) * keep)])
