"""Finding image files in a folder tree and decoding one into a fixed-size uint8 tensor."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

logger = logging.getLogger("gan_cli.data")


def image_extensions() -> tuple[str, ...]:
    # torchvision is imported on use: it costs seconds of CLI startup for runs that never read folders.
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return tuple(IMG_EXTENSIONS)


@dataclass(frozen=True)
class ImageListing:
    files: list[str]
    labels: list[int] | None  # None when the folder has no class subfolders
    class_names: list[str]


def find_images(root: Path) -> ImageListing:
    """All image files under `root`, sorted; first-level subfolder names become classes.

    Classes are used only when every image sits in a subfolder and there are at least two of
    them: a lone subfolder (e.g. CelebA's img_align_celeba/) carries no class information.
    Hidden entries are left out: they hold tool debris (.ipynb_checkpoints, macOS ._ files),
    not data, and would otherwise turn into classes or unreadable "images".
    """
    extensions = image_extensions()
    relative_paths = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            if not name.startswith(".") and name.lower().endswith(extensions):
                relative_paths.append(Path(folder, name).relative_to(root))
    relative_paths.sort()
    files = [str(root / relative) for relative in relative_paths]
    top_folders = [relative.parts[0] if len(relative.parts) > 1 else None for relative in relative_paths]
    class_names = sorted({folder for folder in top_folders if folder is not None})
    if None in top_folders or len(class_names) < 2:
        return ImageListing(files, None, [])
    class_index = {name: index for index, name in enumerate(class_names)}
    return ImageListing(files, [class_index[folder] for folder in top_folders], class_names)


def load_image(path: str, channels: int, size: int) -> torch.Tensor:
    """Decode, convert to L/RGB, resize the shorter side to `size`, center-crop: uint8 (C, size, size)."""
    from PIL import Image
    from torchvision.transforms import functional as F

    with Image.open(path) as opened:
        image = opened.convert("L" if channels == 1 else "RGB")
    image = F.center_crop(F.resize(image, size), size)
    return F.pil_to_tensor(image)


def describe_error(error: BaseException) -> str:
    text = str(error).splitlines()[0].strip() if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class DecodeReport(Dataset):
    """Decodes each file but reports failures instead of raising, so one bad file cannot stop a pass.

    Items are (index, image or None, error text or None).
    """

    def __init__(self, files: list[str], channels: int, size: int) -> None:
        self.files, self.channels, self.size = files, channels, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            return index, load_image(self.files[index], self.channels, self.size), None
        except Exception as error:  # noqa: BLE001 - image decoders raise many unrelated types
            return index, None, describe_error(error)


class ProbeReport(Dataset):
    """Checks each file's header and structure without decoding pixels: (index, error text or None)."""

    def __init__(self, files: list[str]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, str | None]:
        from PIL import Image

        try:
            with Image.open(self.files[index]) as image:
                image.verify()
            return index, None
        except Exception as error:  # noqa: BLE001 - image decoders raise many unrelated types
            return index, describe_error(error)


class ImageFiles(Dataset):
    """Files known to be readable, decoded on demand for streaming: (uint8 image, label or -1).

    A file that passed the probe can still fail to decode (a truncated JPEG); it is replaced by
    the next file rather than ending a long training run.
    """

    _max_substitutions = 16

    def __init__(self, files: list[str], labels: list[int] | None, channels: int, size: int) -> None:
        self.files, self.labels, self.channels, self.size = files, labels, channels, size
        self._warned = False

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        for offset in range(min(self._max_substitutions, len(self.files))):
            candidate = (index + offset) % len(self.files)
            try:
                image = load_image(self.files[candidate], self.channels, self.size)
            except Exception as error:  # noqa: BLE001 - image decoders raise many unrelated types
                if not self._warned:  # once per worker process, not once per bad read
                    self._warned = True
                    logger.warning(
                        "cannot decode %s (%s); using other images in its place",
                        self.files[candidate],
                        describe_error(error),
                    )
                continue
            return image, self.labels[candidate] if self.labels is not None else -1
        first = self.files[index]
        raise OSError(f"{self._max_substitutions} image files in a row from {first} fail to decode")
