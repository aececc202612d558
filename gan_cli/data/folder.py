"""Any folder of images: decoded once into device memory when it fits, streamed from disk otherwise."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_cli.data.config_fields import ImageDataConfig, read_field, subset_ranges
from gan_cli.errors import DataNotFoundError, UserError
from gan_cli.registry import DATA, Range

if TYPE_CHECKING:  # torch is imported by the functions that decode: registering costs nothing
    import torch
    from torch.utils.data import DataLoader

    from gan_cli.data.image_files import ImageFiles, ImageListing
    from gan_cli.data.memory import InMemoryImages
    from gan_cli.data.streaming import StreamingImages

logger = logging.getLogger("gan_cli.data")

_FILES_PER_WORKER_BATCH = 64


AUTO = "auto"
CHANNELS = (1, 3, AUTO)
# What a config without data.channels (one written before the key existed) trained on: RGB.
CHANNELS_BEFORE_AUTO = 3
# More DataLoader workers than this only fork processes that wait for a core (1000 forked 1000).
WORKERS_PER_CORE = 4


@dataclass
class FolderData(ImageDataConfig):
    name: str = "folder"
    path: str = "???"  # required: data.path=/path/to/images (searched recursively)
    image_size: int = 64  # shorter side resized to this, then center-cropped square
    # 1 (grayscale), 3 (RGB), or auto: 1 when a sample of the images is all grayscale. Any, not
    # Union[int, str]: a wrong number (2.5) then reaches validate, which names the allowed values.
    channels: Any = AUTO
    workers: int = 2  # DataLoader workers for decoding (and streaming when too big for memory)
    max_memory_mb: int = 1024  # decoded size up to which the set is held in memory as uint8
    strict: bool = (
        False  # unreadable image files: skipped with a warning, or (true) an error naming the first
    )


def _check(cfg: Any) -> None:
    if cfg.channels not in CHANNELS:
        raise UserError(f"data.channels={cfg.channels!r} is out of range: 1, 3 or auto")


def folder_shape(cfg: Any, look: bool = True) -> tuple[int, int, int]:
    """(C, S, S) from the config; channels=auto looks at the images (look=False: the largest, 3).
    Checkpoints record the shape they trained, so sampling does not look."""
    size = int(read_field(cfg, "image_size", FolderData.image_size))
    channels = _channels_field(read_field(cfg, "channels", CHANNELS_BEFORE_AUTO))
    if channels == AUTO:
        channels = resolve_channels(cfg) if look else 3
    return (int(channels), size, size)


@dataclass(frozen=True)
class FolderSettings:
    path: Path
    image_size: int
    channels: int | str  # 1, 3, or "auto" until resolve_channels has looked at the images
    workers: int
    max_memory_mb: int
    strict: bool = False  # an unreadable file is an error rather than skipped

    @classmethod
    def from_config(cls, cfg: Any) -> FolderSettings:
        settings = cls(
            path=Path(os.path.expanduser(str(read_field(cfg, "path")))),
            image_size=int(read_field(cfg, "image_size", FolderData.image_size)),
            channels=_channels_field(read_field(cfg, "channels", CHANNELS_BEFORE_AUTO)),
            workers=int(read_field(cfg, "workers", FolderData.workers)),
            max_memory_mb=int(read_field(cfg, "max_memory_mb", FolderData.max_memory_mb)),
            strict=bool(read_field(cfg, "strict", FolderData.strict)),
        )
        if settings.image_size < 1:
            raise UserError(f"data.image_size={settings.image_size} is out of range; use an integer >= 1")
        if settings.channels not in CHANNELS:
            raise UserError(
                f"data.channels={settings.channels} is not valid; use 1 (grayscale), 3 (RGB) or auto"
            )
        if settings.workers < 0:
            raise UserError(f"data.workers={settings.workers} is out of range; use an integer >= 0")
        if settings.max_memory_mb < 0:
            raise UserError(
                f"data.max_memory_mb={settings.max_memory_mb} is out of range; use an integer >= 0"
            )
        return settings


def _channels_field(value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


# path -> (channels, why): a run looks at its folder once, though training and evaluation both ask.
_DETECTED: dict[str, tuple[int, str]] = {}


def resolve_channels(cfg: Any, listing: ImageListing | None = None) -> int:
    """data.channels as a number: auto looks at a sample of the images (detect_channels) and says
    what it picked in the log."""
    settings = FolderSettings.from_config(cfg)
    if settings.channels != AUTO:
        return int(settings.channels)
    key = str(settings.path.resolve())
    if key not in _DETECTED:
        from gan_cli.data.image_files import detect_channels

        files = (listing or _list_images(settings)).files
        _DETECTED[key] = detect_channels(files)
        channels, why = _DETECTED[key]
        logger.info(
            "data.channels=auto: %s, so %s (set data.channels=%d for %s)",
            why,
            "1 channel (grayscale)" if channels == 1 else "3 channels (RGB)",
            3 if channels == 1 else 1,
            "RGB" if channels == 1 else "grayscale",
        )
    return _DETECTED[key][0]


def _list_images(settings: FolderSettings) -> ImageListing:
    from gan_cli.data.image_files import find_images, image_extensions

    if not settings.path.exists():
        raise DataNotFoundError(
            f"image folder {settings.path} does not exist; set data.path to a folder of images"
        )
    if not settings.path.is_dir():
        raise UserError(f"data.path={settings.path} is a file; set it to a folder of images")
    listing = find_images(settings.path)
    if not listing.files:
        raise UserError(
            f"no images in {settings.path} or its subfolders"
            f" (looked for {' '.join(image_extensions())}, in any case)"
        )
    return listing


def _report_unreadable(settings: FolderSettings, total: int, failures: list[tuple[str, str]]) -> None:
    if not failures:
        return
    first_file, first_error = failures[0]
    if settings.strict:
        raise UserError(
            f"cannot read image {first_file} ({first_error}); {len(failures)} of {total} files in "
            f"{settings.path} are unreadable (data.strict=false skips them)"
        )
    if len(failures) == total:
        raise UserError(
            f"none of the {total} image files in {settings.path} can be read,"
            f" e.g. {first_file} ({first_error})"
        )
    logger.warning(
        "skipped %d of %d image files in %s that cannot be read, e.g. %s (%s)",
        len(failures),
        total,
        settings.path,
        first_file,
        first_error,
    )


def _worker_loader(dataset, settings: FolderSettings) -> DataLoader:
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset,
        batch_size=_FILES_PER_WORKER_BATCH,
        num_workers=settings.workers,
        collate_fn=list,  # items stay as reported; failures must not break stacking
        generator=torch.Generator().manual_seed(0),  # worker seeds must not come from the global RNG
    )


def decode_all(listing: ImageListing, settings: FolderSettings) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every readable image as one uint8 (N, C, S, S) tensor, in file order, with its labels."""
    import torch

    from gan_cli.data.image_files import DecodeReport
    from gan_cli.data.streaming import one_line_loader_errors

    size, count = settings.image_size, len(listing.files)
    images = torch.empty((count, settings.channels, size, size), dtype=torch.uint8)
    kept_indices: list[int] = []
    failures: list[tuple[str, str]] = []
    # Readable images are packed to the front as they arrive, so skipping files needs no second copy.
    with one_line_loader_errors():
        for chunk in _worker_loader(DecodeReport(listing.files, settings.channels, size), settings):
            for index, image, error in chunk:
                if image is None:
                    failures.append((listing.files[index], error))
                else:
                    images[len(kept_indices)] = image
                    kept_indices.append(index)
    _report_unreadable(settings, count, failures)
    labels = None
    if listing.labels is not None:
        labels = torch.tensor([listing.labels[index] for index in kept_indices], dtype=torch.int64)
    return images[: len(kept_indices)], labels


def readable_files(listing: ImageListing, settings: FolderSettings) -> ImageFiles:
    """The streaming data set, minus files whose header or structure is broken."""
    from gan_cli.data.image_files import ImageFiles, ProbeReport
    from gan_cli.data.streaming import one_line_loader_errors

    broken: set[int] = set()
    failures: list[tuple[str, str]] = []
    with one_line_loader_errors():
        for chunk in _worker_loader(ProbeReport(listing.files), settings):
            for index, error in chunk:
                if error is not None:
                    broken.add(index)
                    failures.append((listing.files[index], error))
    _report_unreadable(settings, len(listing.files), failures)
    keep = [index for index in range(len(listing.files)) if index not in broken]
    labels = [listing.labels[index] for index in keep] if listing.labels is not None else None
    files = [listing.files[index] for index in keep]
    return ImageFiles(files, labels, settings.channels, settings.image_size, settings.strict)


@DATA.register(
    "folder",
    schema=FolderData,
    summary="any folder of images (data.path=...); first-level subfolders become classes",
    ranges={
        "image_size": Range(8, 1024),
        "channels": Range(1, 3, note="1 or 3", words=(AUTO,)),
        "workers": Range(0, WORKERS_PER_CORE * (os.cpu_count() or 1), note=f"{WORKERS_PER_CORE} per core"),
        "max_memory_mb": Range(0, 2**20),
        **subset_ranges(),
    },
    kind="image",
    shape=folder_shape,
    check=_check,
)
def build_folder(cfg: Any, device: torch.device, batch_size: int) -> InMemoryImages | StreamingImages:
    from gan_cli.data import subsets
    from gan_cli.data.image_files import ImageListing
    from gan_cli.data.memory import InMemoryImages, fits_in_memory
    from gan_cli.data.streaming import StreamingImages

    settings = FolderSettings.from_config(cfg)
    listing = _list_images(settings)
    settings = dataclasses.replace(settings, channels=resolve_channels(cfg, listing))
    n_classes = len(listing.class_names)
    # the subset is chosen from the file list, so only the files kept are decoded
    files, labels, n_classes, subset = subsets.take_list(
        listing.files, listing.labels, n_classes, cfg, what=f"data=folder at {settings.path}"
    )
    if subset is not None:
        names = listing.class_names
        if subset.classes is not None:
            names = [listing.class_names[c] for c in subset.classes]
        listing = ImageListing(files, labels, names)
    decoded_bytes = len(listing.files) * settings.channels * settings.image_size**2
    # A data.max_memory_mb beyond the machine's memory cannot be honoured: such a set streams.
    if decoded_bytes <= settings.max_memory_mb * 2**20 and fits_in_memory(decoded_bytes):
        images, labels = decode_all(listing, settings)
        return InMemoryImages(images, labels, n_classes, device, batch_size, subset=subset)
    logger.info(
        "streaming %d images from %s: %d MiB decoded exceeds data.max_memory_mb=%d or this machine's memory",
        len(listing.files),
        settings.path,
        decoded_bytes >> 20,
        settings.max_memory_mb,
    )
    return StreamingImages(
        readable_files(listing, settings), n_classes, device, batch_size, settings.workers, subset=subset
    )
