"""Finding image files in a folder tree and decoding one into a fixed-size uint8 tensor."""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from gan_cli.errors import UserError

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
    relative_paths = sorted(_image_paths(root, image_extensions()))
    files = [str(root / relative) for relative in relative_paths]
    top_folders = [relative.parts[0] if len(relative.parts) > 1 else None for relative in relative_paths]
    class_names = sorted({folder for folder in top_folders if folder is not None})
    if None in top_folders or len(class_names) < 2:
        return ImageListing(files, None, [])
    class_index = {name: index for index, name in enumerate(class_names)}
    return ImageListing(files, [class_index[folder] for folder in top_folders], class_names)


def _folder_identity(path: str) -> tuple[int, int]:
    info = os.stat(path)  # follows links: two names of one folder give one identity
    return info.st_dev, info.st_ino


def _image_paths(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Image files under root, relative to it, with each real folder read once.

    Links to folders are followed (a folder of links to photo folders is common), so a link to
    an ancestor (`ln -s . again`) would make the walk endless; remembering the folders already
    seen ends it. The walk is breadth-first, so a folder reachable by several paths keeps its
    shortest one, which decides its class. Only regular files count: opening a FIFO or a device
    named *.png would block for ever.
    """
    try:
        seen = {_folder_identity(str(root))}
        pending = deque([(str(root), Path())])
        found: list[Path] = []
        unlisted: list[tuple[str, str]] = []
        while pending:
            folder, relative = pending.popleft()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:
                if not relative.parts:
                    raise
                unlisted.append((folder, error.strerror or describe_error(error)))
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        identity = _folder_identity(entry.path)
                        if identity not in seen:
                            seen.add(identity)
                            pending.append((entry.path, relative / entry.name))
                    elif entry.name.lower().endswith(extensions) and entry.is_file():
                        found.append(relative / entry.name)
                except OSError:  # vanished while listed, or a link loop the kernel refuses to resolve
                    continue
    except OSError as error:
        reason = error.strerror or describe_error(error)
        raise UserError(f"cannot read the image folder {root} ({reason})") from None
    if unlisted:
        logger.warning(
            "skipped %d subfolder(s) of %s that cannot be listed, e.g. %s (%s)",
            len(unlisted), root, unlisted[0][0], unlisted[0][1],
        )  # fmt: skip
    return found


def load_image(path: str, channels: int, size: int) -> torch.Tensor:
    """Decode, convert to L/RGB, resize the shorter side to `size`, center-crop: uint8 (C, size, size)."""
    from PIL import Image
    from torchvision.transforms import functional as F

    with Image.open(path) as opened:
        image = opened.convert("L" if channels == 1 else "RGB")
    image = F.center_crop(F.resize(image, size), size)
    return F.pil_to_tensor(image)


# Modes that hold one gray level per pixel (with alpha for LA); anything else is looked at.
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
CHANNEL_PROBES = 32  # files looked at by data.channels=auto, spread over the sorted listing
# Levels by which R, G and B may differ in a gray pixel: a JPEG of a gray image saved as colour
# decodes with small chroma noise.
GRAY_TOLERANCE = 2


def is_grayscale(path: str) -> bool | None:
    """Whether an image holds only gray levels (a gray mode, or R == G == B); None: unreadable."""
    from PIL import Image, ImageChops

    try:
        with Image.open(path) as opened:
            if opened.mode in GRAY_MODES:
                return True
            opened.draft("RGB", (64, 64))  # JPEG decodes at a reduced scale: cheap, and enough here
            image = opened.convert("RGB")
        image.thumbnail((64, 64))  # the same filter on each band keeps R == G == B
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    red, green, blue = image.split()
    pairs = ((red, green), (green, blue))
    return all(ImageChops.difference(a, b).getextrema()[1] <= GRAY_TOLERANCE for a, b in pairs)


def detect_channels(files: list[str]) -> tuple[int, str]:
    """1 when every readable file of an even sample of the listing is grayscale, else 3; and why."""
    step = max(1, len(files) // CHANNEL_PROBES)
    probes = files[::step][:CHANNEL_PROBES]
    seen = [gray for gray in map(is_grayscale, probes) if gray is not None]
    if seen and all(seen):
        return 1, f"all {len(seen)} sampled images are grayscale"
    if not seen:
        return 3, "no sampled image was readable"
    return 3, f"{len(seen) - sum(seen)} of {len(seen)} sampled images are in colour"


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


# Formats whose verify() checks the whole file (PNG: every chunk's CRC up to IEND) or whose end
# marker shows that the file is complete (JPEG); any other format is decoded once to be sure.
_VERIFIED_FORMATS = ("PNG",)
_JPEG_END = b"\xff\xd9"


def _jpeg_is_complete(path: str) -> bool:
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - 1024))
        tail = file.read()
    # Some writers pad after the end marker; padding is not truncation.
    return tail.rstrip(b"\x00\r\n ").endswith(_JPEG_END)


def probe_image(path: str) -> None:
    """Raises if the file is not a whole image, without decoding pixels where that can be avoided.

    verify() reads only a JPEG's headers, so a truncated JPEG (a common casualty of interrupted
    copies) would pass it and fail every time it is streamed; its missing end marker gives it away.
    """
    from PIL import Image

    with Image.open(path) as image:
        image_format = image.format
        image.verify()
    if image_format in _VERIFIED_FORMATS or (image_format == "JPEG" and _jpeg_is_complete(path)):
        return
    with Image.open(path) as image:
        image.load()


class ProbeReport(Dataset):
    """Checks each file's header and structure, decoding pixels only where needed: (index, error or None)."""

    def __init__(self, files: list[str]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, str | None]:
        try:
            probe_image(self.files[index])
            return index, None
        except Exception as error:  # noqa: BLE001 - image decoders raise many unrelated types
            return index, describe_error(error)


class UndecodableImages(OSError):
    """Streamed files fail to decode (strict mode, or too many in a row to substitute).

    An OSError with one text argument, so DataLoader can rebuild it in the main process.
    """


class ImageFiles(Dataset):
    """Files known to be readable, decoded on demand for streaming: (uint8 image, label or -1).

    A file that passed the probe can still fail to decode (damage inside a JPEG's data); unless
    strict, it is replaced by the next file rather than ending a long training run.
    """

    _max_substitutions = 16

    def __init__(
        self, files: list[str], labels: list[int] | None, channels: int, size: int, strict: bool = False
    ) -> None:
        self.files, self.labels, self.channels, self.size = files, labels, channels, size
        self.strict = strict
        self._warned = False

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        error = None
        for offset in range(min(self._max_substitutions, len(self.files))):
            candidate = (index + offset) % len(self.files)
            try:
                image = load_image(self.files[candidate], self.channels, self.size)
            except Exception as caught:  # noqa: BLE001 - image decoders raise many unrelated types
                error = describe_error(caught)
                if self.strict:
                    raise UndecodableImages(
                        f"cannot decode image {self.files[candidate]} ({error}) (data.strict=false skips it)"
                    ) from None
                if not self._warned:  # once per worker process, not once per bad read
                    self._warned = True
                    logger.warning(
                        "cannot decode %s (%s); using other images in its place", self.files[candidate], error
                    )
                continue
            return image, self.labels[candidate] if self.labels is not None else -1
        tried = min(self._max_substitutions, len(self.files))
        raise UndecodableImages(
            f"cannot decode {tried} image files in a row from {self.files[index]} on ({error});"
            " remove or repair the damaged files"
        )
