"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision's own dataset classes.

torchvision finds (or downloads) and parses the files; we take its `.data` / `.targets` arrays
whole and hand them to the in-memory store, so no PIL image or per-sample transform is ever made.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import math
import os
import pickle
import shutil
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_cli.data.config_fields import ImageDataConfig, read_field, subset_ranges
from gan_cli.errors import DataNotFoundError, UserError
from gan_cli.outputs import atomic
from gan_cli.registry import DATA

if TYPE_CHECKING:  # torch is imported by the builders: registering costs nothing at startup
    import torch

    from gan_cli.data.memory import InMemoryImages

logger = logging.getLogger("gan_cli.data")


@dataclass
class TorchvisionData(ImageDataConfig):
    """MNIST, Fashion-MNIST and CIFAR-10 share it: each YAML file sets only its name."""

    download: bool = True  # torchvision downloads the files when they are missing
    split: str = "train"  # train or test


SPLITS = ("train", "test")


def _check_split(cfg: Any) -> None:
    if cfg.split not in SPLITS:
        raise UserError(f"data.split={cfg.split!r} is out of range: {' or '.join(SPLITS)}")


def _register(name: str, shape: tuple[int, int, int], summary: str):
    # labeled, with a test split: class coverage and the classifier's features apply
    return DATA.register(
        name,
        schema=TorchvisionData,
        summary=summary,
        kind="image",
        shape=shape,
        splits=SPLITS,
        check=_check_split,
        ranges=subset_ranges(),
    )


# Where Debian's `dataset-fashion-mnist` package puts the four .gz IDX files (no torchvision layout).
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

# torchvision's urlopen calls have no timeout: behind a firewall that drops packets a download
# would hang for minutes before failing. Bounding each socket operation makes it fail fast.
DOWNLOAD_SOCKET_TIMEOUT_S = 15.0

_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Parsing errors torchvision raises for files that exist but are not what they claim to be.
_CORRUPT_FILE_ERRORS = (AssertionError, ValueError, TypeError, KeyError, EOFError, pickle.UnpicklingError)


@contextlib.contextmanager
def _quiet_bounded_download() -> Iterator[None]:
    """Silence torchvision's progress bars and bound socket waits while it may download."""
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        socket.setdefaulttimeout(previous_timeout)


def _short_reason(error: BaseException) -> str:
    """The most specific line of an error (torchvision nests the real cause on its last line)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[-1].strip("<>") if lines else type(error).__name__
    return reason if len(reason) <= 160 else reason[:157] + "..."


def _split_is_train(cfg: Any) -> bool:
    split = read_field(cfg, "split", TorchvisionData.split)
    if split not in SPLITS:
        raise UserError(f"data.split={split!r} is not valid; use 'train' or 'test'")
    return split == "train"


def _open_torchvision_set(
    dataset_class: type, cfg: Any, searched: str, how_to_get: str, download: bool | None = None
) -> Any:
    """Instantiate a torchvision dataset, turning its missing-data errors into one actionable line."""
    root = str(read_field(cfg, "root", "data"))
    if download is None:
        download = bool(read_field(cfg, "download", True))
    name = read_field(cfg, "name")
    train = _split_is_train(cfg)
    if download:
        logger.info("looking for %s in %s (downloading it if missing)", name, searched)
    try:
        with _quiet_bounded_download():
            return dataset_class(root, train=train, download=download)
    except _CORRUPT_FILE_ERRORS as error:
        raise UserError(
            f"{name}: the files in {searched} are unreadable ({_short_reason(error)});"
            " delete them and download again"
        ) from None
    except (RuntimeError, OSError) as error:
        if download:
            why = f"the download failed ({_short_reason(error)})"
        else:
            why = "downloading is off (data.download=false)"
        raise DataNotFoundError(f"{name}: no usable data in {searched} and {why}; {how_to_get}") from None


def _how_to_get(folder_under_root: str) -> str:
    return (
        "download it on a connected machine (data.download=true) and copy it over, "
        f"or set data.root or the GAN_DATA_DIR variable to a folder that holds {folder_under_root}"
    )


# IDX headers: a magic number (0x0000 <type 0x08 = uint8> <number of dimensions>), then each size.
_IDX_IMAGES_MAGIC, _IDX_LABELS_MAGIC = 0x00000803, 0x00000801
_N_CLASSES = 10


def _idx_sizes(path: Path, magic: int, dims: int) -> list[int]:
    """The sizes an IDX file's header declares, once they agree with its magic and length on disk.

    torchvision reads the whole file before checking the header: a file that is not IDX at all, or
    whose header disagrees with its length, is caught here without reading more than the header.
    """
    header_bytes = 4 * (dims + 1)
    size = path.stat().st_size
    with open(path, "rb") as file:
        header = file.read(header_bytes)
    if len(header) < header_bytes:
        raise ValueError(f"{size} bytes: too short for the {header_bytes}-byte header")
    found, *sizes = struct.unpack(f">{dims + 1}I", header)
    if found != magic:
        raise ValueError(f"magic number {found:#010x}, expected {magic:#010x}")
    expected = header_bytes + math.prod(sizes)
    if size != expected:
        shape = " x ".join(str(s) for s in sizes)
        raise ValueError(f"its header declares {shape} bytes of data, {expected} with the header; has {size}")
    return sizes


def _check_idx_split(raw_folder: Path, cfg: Any) -> None:
    """The split's two IDX files, where present, agree with each other and with the data set's shape."""
    name = read_field(cfg, "name")
    prefix = "train" if _split_is_train(cfg) else "t10k"
    images_path = raw_folder / f"{prefix}-images-idx3-ubyte"
    labels_path = raw_folder / f"{prefix}-labels-idx1-ubyte"
    if not (images_path.is_file() and labels_path.is_file()):
        return  # torchvision downloads them (or says they are missing)
    path = images_path
    try:
        count, height, width = _idx_sizes(images_path, _IDX_IMAGES_MAGIC, 3)
        path = labels_path
        (label_count,) = _idx_sizes(labels_path, _IDX_LABELS_MAGIC, 1)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UserError(
            f"{name}: {path} is unreadable as an IDX file ({reason}); delete it and download again"
        ) from None
    expected = DATA.get(name).shape[1:]
    problem = None
    if (height, width) != expected:
        problem = f"its images are {height}x{width}, {name} has {expected[0]}x{expected[1]}"
    elif count == 0:
        problem = "it holds no images"
    elif count != label_count:
        problem = f"{images_path.name} holds {count} images and {labels_path.name} {label_count} labels"
    if problem:
        raise UserError(
            f"{name}: the {prefix} files in {raw_folder} do not fit ({problem});"
            " delete them and download again"
        )


def _images_from_idx_set(dataset: Any, raw_folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    labels = dataset.targets.to(torch.int64)
    if labels.numel() and int(labels.max()) >= _N_CLASSES:
        raise UserError(
            f"the labels in {raw_folder} go up to {int(labels.max())}, beyond the {_N_CLASSES} classes;"
            " delete the files and download again"
        )
    # MNIST-family .data is already a uint8 (N, H, W) tensor: adding the channel axis is a view.
    return dataset.data.unsqueeze(1), labels


def _in_memory(
    images: torch.Tensor, labels: torch.Tensor, cfg: Any, device: Any, batch_size: int
) -> InMemoryImages:
    """The split in memory, after data.classes / data.limit (limit: the train split only)."""
    from gan_cli.data import subsets
    from gan_cli.data.memory import InMemoryImages

    what = f"data={read_field(cfg, 'name')} split={read_field(cfg, 'split', TorchvisionData.split)}"
    images, labels, n_classes, subset = subsets.take_tensors(
        images, labels, _N_CLASSES, cfg, limit_applies=_split_is_train(cfg), what=what
    )
    return InMemoryImages(images, labels, n_classes, device, batch_size, subset=subset)


@_register("mnist", (1, 28, 28), "handwritten digits, 28x28 grayscale, 10 classes")
def build_mnist(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages:
    from torchvision.datasets import MNIST  # imported here: torchvision adds seconds to CLI startup

    raw = Path(str(read_field(cfg, "root", "data")), "MNIST", "raw")
    _check_idx_split(raw, cfg)
    dataset = _open_torchvision_set(MNIST, cfg, str(raw), _how_to_get("MNIST/raw"))
    images, labels = _images_from_idx_set(dataset, raw)
    return _in_memory(images, labels, cfg, device, batch_size)


def extract_debian_fashion_mnist(raw_folder: Path) -> bool:
    """Unpack Debian's Fashion-MNIST .gz files into torchvision's layout once; False if there are none.

    torchvision accepts the split only when all four uncompressed files are present, so all four
    are written, each atomically (gan_cli.outputs.atomic) so an interrupted unpack is never mistaken
    for data.
    """
    if all((raw_folder / name).is_file() for name in _IDX_FILES):
        return True
    sources = [DEBIAN_FASHION_MNIST_DIR / f"{name}.gz" for name in _IDX_FILES]
    if not all(source.is_file() for source in sources):
        return False
    raw_folder.mkdir(parents=True, exist_ok=True)
    for name, source in zip(_IDX_FILES, sources, strict=True):
        target = raw_folder / name
        if target.is_file():
            continue
        with atomic.replacing(target) as partial, gzip.open(source, "rb") as compressed:
            with open(partial, "wb") as plain:
                shutil.copyfileobj(compressed, plain, length=1 << 20)
    logger.info("unpacked Fashion-MNIST from %s into %s", DEBIAN_FASHION_MNIST_DIR, raw_folder)
    return True


@_register("fashion_mnist", (1, 28, 28), "Zalando's clothing images, 28x28 grayscale, 10 classes")
def build_fashion_mnist(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages:
    from torchvision.datasets import FashionMNIST

    raw = Path(str(read_field(cfg, "root", "data")), "FashionMNIST", "raw")
    try:
        have_local_copy = extract_debian_fashion_mnist(raw)
    except (OSError, EOFError) as error:
        raise UserError(
            f"fashion_mnist: cannot unpack {DEBIAN_FASHION_MNIST_DIR} into {raw} ({_short_reason(error)}); "
            "check that data.root is writable"
        ) from None
    how_to_get = (
        _how_to_get("FashionMNIST/raw") + f", or install Debian's copy into {DEBIAN_FASHION_MNIST_DIR}"
        " with `apt-get install dataset-fashion-mnist`"
    )
    # With the files on disk, asking torchvision to download would only risk a network wait.
    download = False if have_local_copy else None
    _check_idx_split(raw, cfg)
    dataset = _open_torchvision_set(FashionMNIST, cfg, str(raw), how_to_get, download=download)
    images, labels = _images_from_idx_set(dataset, raw)
    return _in_memory(images, labels, cfg, device, batch_size)


@_register("cifar10", (3, 32, 32), "small photos, 32x32 RGB, 10 classes")
def build_cifar10(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages:
    import torch
    from torchvision.datasets import CIFAR10

    searched = os.path.join(str(read_field(cfg, "root", "data")), CIFAR10.base_folder)
    how_to_get = _how_to_get(CIFAR10.base_folder)
    dataset = _open_torchvision_set(CIFAR10, cfg, searched, how_to_get)
    # CIFAR10.data is a numpy (N, 32, 32, 3) array; one contiguous copy in channel-first order.
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return _in_memory(images, labels, cfg, device, batch_size)
