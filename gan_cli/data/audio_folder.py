"""Any folder of sound files: decoded to mono clips of data.length samples at data.sample_rate,
held once in memory as int16 when they fit, decoded file by file for each batch otherwise.

    gan train model=wavegan data=audio_folder data.path=~/sounds

Each file is decoded by libsndfile (soundfile), its channels averaged, resampled when its rate
differs from data.sample_rate (polyphase, scipy.signal.resample_poly), then cut or zero-padded at
the end to data.length samples. First-level subfolders become classes, as in data=folder.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_cli.data.config_fields import ImageDataConfig, read_field, subset_ranges
from gan_cli.errors import DataNotFoundError, UserError
from gan_cli.registry import DATA, Range

if TYPE_CHECKING:  # torch and numpy are imported by the functions that decode: registering costs nothing
    import numpy as np
    import torch

logger = logging.getLogger("gan_cli.data")

# What libsndfile decodes that people keep sound in; matched in any case (.WAV from recorders).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
# WaveGAN's two clip lengths (Donahue et al. 2019): about 1 s and 4 s at 16 kHz.
LENGTHS = (16384, 65536)
# int16 full scale: a sample in [-1, 1] is stored as round(x * 32767), so -1 and 1 come back exactly.
INT16_SCALE = 32767.0


@dataclass
class AudioFolderData(ImageDataConfig):
    """The subset keys (data.classes, data.limit, data.subset_seed) come from ImageDataConfig:
    they pick files, whatever the files hold."""

    name: str = "audio_folder"
    path: str = "???"  # required: data.path=/path/to/sounds (searched recursively)
    sample_rate: int = 16000  # Hz; files at other rates are resampled to it
    length: int = 16384  # samples per clip (16384 or 65536): longer files are cut, shorter padded
    max_memory_mb: int = 1024  # decoded size (int16) up to which the clips are held in memory
    strict: bool = False  # unreadable files: skipped with a warning, or (true) an error naming the first


def _check_length(length: Any) -> None:
    if length not in LENGTHS:
        raise UserError(f"data.length={length!r} is out of range: {' or '.join(map(str, LENGTHS))} samples")


def _check(cfg: Any) -> None:
    _check_length(cfg.length)


def audio_shape(cfg: Any, look: bool = True) -> tuple[int, int]:
    """(1, data.length): mono clips; nothing on disk changes it, so look is not needed."""
    return (1, int(read_field(cfg, "length", AudioFolderData.length)))


@dataclass(frozen=True)
class AudioSettings:
    path: Path
    sample_rate: int
    length: int
    max_memory_mb: int
    strict: bool = False

    @classmethod
    def from_config(cls, cfg: Any) -> AudioSettings:
        settings = cls(
            path=Path(os.path.expanduser(str(read_field(cfg, "path")))),
            sample_rate=int(read_field(cfg, "sample_rate", AudioFolderData.sample_rate)),
            length=int(read_field(cfg, "length", AudioFolderData.length)),
            max_memory_mb=int(read_field(cfg, "max_memory_mb", AudioFolderData.max_memory_mb)),
            strict=bool(read_field(cfg, "strict", AudioFolderData.strict)),
        )
        if settings.sample_rate < 1:
            raise UserError(f"data.sample_rate={settings.sample_rate} is out of range; use an integer >= 1")
        _check_length(settings.length)
        if settings.max_memory_mb < 0:
            raise UserError(
                f"data.max_memory_mb={settings.max_memory_mb} is out of range; use an integer >= 0"
            )
        return settings


@dataclass(frozen=True)
class AudioListing:
    files: list[str]
    labels: list[int] | None  # None when the folder has no class subfolders
    class_names: list[str]


def find_audio(root: Path) -> AudioListing:
    """All sound files under `root`, sorted; first-level subfolders become classes, by the rule
    image folders follow (gan_cli.data.image_files.find_images): every file in a subfolder and at
    least two subfolders, hidden entries left out, links followed once."""
    from gan_cli.data.image_files import _image_paths  # the walk itself knows nothing of images

    relative_paths = sorted(_image_paths(root, AUDIO_EXTENSIONS))
    files = [str(root / relative) for relative in relative_paths]
    top_folders = [relative.parts[0] if len(relative.parts) > 1 else None for relative in relative_paths]
    class_names = sorted({folder for folder in top_folders if folder is not None})
    if None in top_folders or len(class_names) < 2:
        return AudioListing(files, None, [])
    class_index = {name: index for index, name in enumerate(class_names)}
    return AudioListing(files, [class_index[folder] for folder in top_folders], class_names)


def _list_audio(settings: AudioSettings) -> AudioListing:
    if not settings.path.exists():
        raise DataNotFoundError(
            f"audio folder {settings.path} does not exist; set data.path to a folder of sound files"
        )
    if not settings.path.is_dir():
        raise UserError(f"data.path={settings.path} is a file; set it to a folder of sound files")
    listing = find_audio(settings.path)
    if not listing.files:
        raise UserError(
            f"no sound files in {settings.path} or its subfolders"
            f" (looked for {' '.join(AUDIO_EXTENSIONS)}, in any case)"
        )
    return listing


def resample(signal: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """A 1-D signal from rate_in to rate_out Hz, band-limited: polyphase filtering (upsample by
    up, low-pass FIR with a Kaiser window, downsample by down; up/down = rate_out/rate_in in lowest
    terms), which removes what lies above the lower Nyquist frequency instead of aliasing it."""
    import numpy as np
    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return signal
    divisor = math.gcd(rate_in, rate_out)
    up, down = rate_out // divisor, rate_in // divisor
    return resample_poly(signal, up, down).astype(np.float32, copy=False)


def _frames_needed(length: int, rate_in: int, rate_out: int) -> int:
    """Source frames that decide the first `length` output samples: the output's span plus the
    reach of resample_poly's filter (10 * max(up, down) taps each side at the upsampled rate)."""
    if rate_in == rate_out:
        return length
    divisor = math.gcd(rate_in, rate_out)
    up, down = rate_out // divisor, rate_in // divisor
    return math.ceil(length * rate_in / rate_out) + math.ceil(10 * max(up, down) / up) + 1


def _reason(error: BaseException) -> str:
    """The first line of an error's text (libsndfile's names the format problem), or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class UnreadableAudio(Exception):
    """A file libsndfile cannot decode (or one without samples); the message says why."""


def load_clip(path: str, sample_rate: int, length: int) -> np.ndarray:
    """One file as float32 (length,) in [-1, 1]: mono, at sample_rate, cut or zero-padded at the end.
    Long files are read only as far as the clip needs."""
    import numpy as np
    import soundfile

    try:
        with soundfile.SoundFile(path) as opened:
            rate = int(opened.samplerate)
            frames = opened.read(_frames_needed(length, rate, sample_rate), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError, TypeError, EOFError) as error:
        # soundfile's LibsndfileError is a RuntimeError
        raise UnreadableAudio(_reason(error)) from None
    if frames.shape[0] == 0:
        raise UnreadableAudio("no audio frames")
    mono = frames.mean(axis=1, dtype=np.float32)  # channels averaged: a stereo file's center
    mono = resample(mono, rate, sample_rate)[:length]
    clip = np.zeros(length, dtype=np.float32)
    clip[: mono.shape[0]] = mono
    # Float formats may exceed full scale, and resampling can overshoot at sharp edges.
    return np.clip(clip, -1.0, 1.0, out=clip)


def _report_unreadable(settings: AudioSettings, total: int, failures: list[tuple[str, str]]) -> None:
    if not failures:
        return
    first_file, first_error = failures[0]
    if settings.strict:
        raise UserError(
            f"cannot read sound file {first_file} ({first_error}); {len(failures)} of {total} files in "
            f"{settings.path} are unreadable (data.strict=false skips them)"
        )
    if len(failures) == total:
        raise UserError(
            f"none of the {total} sound files in {settings.path} can be read,"
            f" e.g. {first_file} ({first_error})"
        )
    logger.warning(
        "skipped %d of %d sound files in %s that cannot be read, e.g. %s (%s)",
        len(failures),
        total,
        settings.path,
        first_file,
        first_error,
    )


def decode_all(listing: AudioListing, settings: AudioSettings) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every readable file as one int16 (N, 1, length) tensor, in file order, with its labels."""
    import numpy as np
    import torch

    count = len(listing.files)
    clips = np.empty((count, 1, settings.length), dtype=np.int16)
    kept: list[int] = []
    failures: list[tuple[str, str]] = []
    for index, path in enumerate(listing.files):
        try:
            clip = load_clip(path, settings.sample_rate, settings.length)
        except UnreadableAudio as error:
            failures.append((path, str(error)))
            continue
        # Readable clips are packed to the front as they arrive, so skipping files needs no copy.
        clips[len(kept), 0] = np.rint(clip * INT16_SCALE)
        kept.append(index)
    _report_unreadable(settings, count, failures)
    labels = None
    if listing.labels is not None:
        labels = torch.tensor([listing.labels[index] for index in kept], dtype=torch.int64)
    return torch.from_numpy(clips[: len(kept)]), labels


def readable_files(listing: AudioListing, settings: AudioSettings) -> AudioListing:
    """The files whose header libsndfile reads (a cheap look, for streaming), the others reported."""
    import soundfile

    keep: list[int] = []
    failures: list[tuple[str, str]] = []
    for index, path in enumerate(listing.files):
        try:
            info = soundfile.info(path)
        except (RuntimeError, OSError, ValueError, TypeError, EOFError) as error:
            failures.append((path, _reason(error)))
            continue
        if info.frames == 0:
            failures.append((path, "no audio frames"))
            continue
        keep.append(index)
    _report_unreadable(settings, len(listing.files), failures)
    labels = [listing.labels[i] for i in keep] if listing.labels is not None else None
    return AudioListing([listing.files[i] for i in keep], labels, listing.class_names)


def int16_to_float(clips: torch.Tensor) -> torch.Tensor:
    """int16 samples -> float32 in [-1, 1] (the inverse of the storage scale, clamped for -32768)."""
    import torch

    return clips.to(torch.float32).div_(INT16_SCALE).clamp_(-1.0, 1.0)


class InMemoryAudio:
    """Clips held once on the device as int16 (half the memory of float16 with 16-bit precision);
    batches by random index with the global torch RNG on the device, like InMemoryImages."""

    kind = "audio"

    def __init__(
        self,
        clips_i16: torch.Tensor,
        labels: torch.Tensor | None,
        n_classes: int,
        device: torch.device,
        batch_size: int,
        sample_rate: int,
        subset: Any = None,
        class_names: list[str] | None = None,
    ) -> None:
        """subset: the gan_cli.data.subsets.Subset these clips are (None: the whole folder)."""
        import torch

        if clips_i16.dtype != torch.int16 or clips_i16.dim() != 3:
            raise ValueError(f"want int16 (N, 1, L) clips, got {clips_i16.dtype} {tuple(clips_i16.shape)}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.sample_rate = int(sample_rate)
        self.clips = clips_i16.to(self.device).contiguous()
        self.labels = labels.to(self.device, torch.int64) if n_classes > 0 and labels is not None else None
        self.n_classes = n_classes if self.labels is not None else 0
        self.class_names = list(class_names or []) if self.labels is not None else []
        self.num_examples = int(self.clips.shape[0])
        self.shape = tuple(int(s) for s in self.clips.shape[1:])
        self.subset = subset

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        import torch

        index = torch.randint(0, self.num_examples, (self.batch_size,), device=self.device)
        y = self.labels[index] if self.labels is not None else None
        return int16_to_float(self.clips[index]), y

    def real_sample(self, n: int) -> torch.Tensor:
        from gan_cli.data.batches import sample_indices

        return int16_to_float(self.clips[sample_indices(self.num_examples, n).to(self.device)])


class StreamingAudio:
    """Clips decoded from disk for each batch, for folders beyond data.max_memory_mb. Indices come
    from the global torch RNG on the device, so seeding and resuming work as in memory; the
    decoding runs in this process (libsndfile is fast next to a training step on 1 s clips)."""

    kind = "audio"

    def __init__(
        self,
        listing: AudioListing,
        n_classes: int,
        device: torch.device,
        batch_size: int,
        settings: AudioSettings,
        subset: Any = None,
    ) -> None:
        import torch

        self.device = torch.device(device)
        self.batch_size = batch_size
        self.settings = settings
        self.sample_rate = settings.sample_rate
        self.files = list(listing.files)
        has_labels = n_classes > 0 and listing.labels is not None
        self._labels_cpu = torch.tensor(listing.labels, dtype=torch.int64) if has_labels else None
        self.labels = self._labels_cpu.to(self.device) if has_labels else None
        self.n_classes = n_classes if has_labels else 0
        self.class_names = list(listing.class_names) if has_labels else []
        self.num_examples = len(self.files)
        self.shape = (1, settings.length)
        self.subset = subset
        self._real_sample_cache: tuple[int, torch.Tensor] | None = None

    def _decode(self, indices: list[int]) -> torch.Tensor:
        import numpy as np
        import torch

        clips = np.empty((len(indices), 1, self.settings.length), dtype=np.float32)
        for row, index in enumerate(indices):
            try:
                clips[row, 0] = load_clip(self.files[index], self.settings.sample_rate, self.settings.length)
            except UnreadableAudio as error:
                # Its header read when the run began: the file broke (or changed) since.
                file = self.files[index]
                raise UserError(f"cannot read sound file {file} while streaming ({error})") from None
        return torch.from_numpy(clips)

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        import torch

        index = torch.randint(0, self.num_examples, (self.batch_size,), device=self.device)
        x = self._decode(index.tolist()).to(self.device, non_blocking=True)
        y = self.labels[index] if self.labels is not None else None
        return x, y

    def real_sample(self, n: int) -> torch.Tensor:
        import torch

        from gan_cli.data.batches import sample_indices

        # Decoding is the slow part and the sample is fixed, so the last one is kept (as int16).
        if self._real_sample_cache is None or self._real_sample_cache[0] != n:
            clips = self._decode(sample_indices(self.num_examples, n).tolist())
            stored = clips.mul_(INT16_SCALE).round_().to(torch.int16)
            self._real_sample_cache = (n, stored.to(self.device))
        return int16_to_float(self._real_sample_cache[1])


@DATA.register(
    "audio_folder",
    schema=AudioFolderData,
    summary="any folder of .wav/.flac/.ogg files (data.path=...); first-level subfolders become classes",
    ranges={
        "sample_rate": Range(1000, 384_000),
        "length": Range(LENGTHS[0], LENGTHS[-1], note=" or ".join(map(str, LENGTHS))),
        "max_memory_mb": Range(0, 2**20),
        **subset_ranges(),
    },
    kind="audio",
    shape=audio_shape,
    check=_check,
)
def build_audio_folder(cfg: Any, device: torch.device, batch_size: int) -> InMemoryAudio | StreamingAudio:
    from gan_cli.data import subsets
    from gan_cli.data.memory import fits_in_memory

    settings = AudioSettings.from_config(cfg)
    listing = _list_audio(settings)
    n_classes = len(listing.class_names)
    # the subset is chosen from the file list, so only the files kept are decoded
    files, labels, n_classes, subset = subsets.take_list(
        listing.files, listing.labels, n_classes, cfg, what=f"data=audio_folder at {settings.path}"
    )
    if subset is not None:
        names = listing.class_names
        if subset.classes is not None:
            names = [listing.class_names[c] for c in subset.classes]
        listing = AudioListing(files, labels, names)
    decoded_bytes = len(listing.files) * settings.length * 2  # int16
    # A data.max_memory_mb beyond the machine's memory cannot be honoured: such a set streams.
    if decoded_bytes <= settings.max_memory_mb * 2**20 and fits_in_memory(decoded_bytes):
        clips, labels_tensor = decode_all(listing, settings)
        return InMemoryAudio(
            clips,
            labels_tensor,
            n_classes,
            device,
            batch_size,
            settings.sample_rate,
            subset=subset,
            class_names=listing.class_names,
        )
    logger.info(
        "streaming %d sound files from %s: %d MiB decoded exceeds data.max_memory_mb=%d"
        " or this machine's memory",
        len(listing.files),
        settings.path,
        decoded_bytes >> 20,
        settings.max_memory_mb,
    )
    return StreamingAudio(readable_files(listing, settings), n_classes, device, batch_size, settings, subset)
