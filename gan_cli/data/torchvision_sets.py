"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision's own dataset classes.

torchvision finds (or downloads) and parses the files; we take its `.data` / `.targets` arrays
whole and hand them to the in-memory store, so no PIL image or per-sample transform is ever made.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import pickle
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from gan_cli.data.config_fields import read_field
from gan_cli.data.memory import InMemoryImages
from gan_cli.data.registry import register
from gan_cli.errors import DataNotFoundError, UserError

logger = logging.getLogger("gan_cli.data")

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
    split = read_field(cfg, "split", "train")
    if split not in ("train", "test"):
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


def _images_from_idx_set(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    # MNIST-family .data is already a uint8 (N, H, W) tensor: adding the channel axis is a view.
    return dataset.data.unsqueeze(1), dataset.targets.to(torch.int64)


@register("mnist")
def build_mnist(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages:
    from torchvision.datasets import MNIST  # imported here: torchvision adds seconds to CLI startup

    raw = os.path.join(str(read_field(cfg, "root", "data")), "MNIST", "raw")
    dataset = _open_torchvision_set(MNIST, cfg, raw, _how_to_get("MNIST/raw"))
    images, labels = _images_from_idx_set(dataset)
    return InMemoryImages(images, labels, 10, device, batch_size)


def extract_debian_fashion_mnist(raw_folder: Path) -> bool:
    """Unpack Debian's Fashion-MNIST .gz files into torchvision's layout once; False if there are none.

    torchvision accepts the split only when all four uncompressed files are present, so all four
    are written, each through a temporary name so an interrupted unpack is never mistaken for data.
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
        partial = target.with_name(target.name + ".partial")
        with gzip.open(source, "rb") as compressed, open(partial, "wb") as plain:
            shutil.copyfileobj(compressed, plain, length=1 << 20)
        os.replace(partial, target)
    logger.info("unpacked Fashion-MNIST from %s into %s", DEBIAN_FASHION_MNIST_DIR, raw_folder)
    return True


@register("fashion_mnist")
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
    dataset = _open_torchvision_set(FashionMNIST, cfg, str(raw), how_to_get, download=download)
    images, labels = _images_from_idx_set(dataset)
    return InMemoryImages(images, labels, 10, device, batch_size)


@register("cifar10")
def build_cifar10(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages:
    from torchvision.datasets import CIFAR10

    searched = os.path.join(str(read_field(cfg, "root", "data")), CIFAR10.base_folder)
    how_to_get = _how_to_get(CIFAR10.base_folder)
    dataset = _open_torchvision_set(CIFAR10, cfg, searched, how_to_get)
    # CIFAR10.data is a numpy (N, 32, 32, 3) array; one contiguous copy in channel-first order.
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return InMemoryImages(images, labels, 10, device, batch_size)
