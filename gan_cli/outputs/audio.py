"""Sound files of generated clips: 16-bit PCM WAV at the data's sample rate, one file per clip.

    write_wavs(clips, folder, sample_rate)            # folder/00.wav, 01.wav, ...
    write_wavs(clips, folder, sample_rate, labels)    # 00-class3.wav, ... (a conditional generator)

soundfile (libsndfile) writes them; PCM_16 is what every player opens, and the clips' [-1, 1]
range maps onto it (libsndfile scales floats by 32767 and clips beyond full scale).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gan_cli.errors import UserError

if TYPE_CHECKING:
    import torch

SUBTYPE = "PCM_16"


def wav_name(index: int, n: int, label: int | None = None) -> str:
    """00.wav (at least two digits, more where n needs them); with a class: 00-class3.wav."""
    digits = max(2, len(str(max(n - 1, 0))))
    return f"{index:0{digits}d}.wav" if label is None else f"{index:0{digits}d}-class{label}.wav"


def write_wav(clip: torch.Tensor, path: Path, sample_rate: int) -> Path:
    """One clip, (L,) or (1, L) in [-1, 1], as a mono PCM_16 WAV. Small files are written in
    place (as a folder of PNGs is): a kill leaves at most the one file being written short."""
    import soundfile

    samples = clip.detach().float().reshape(-1).clamp(-1, 1).cpu().numpy()
    soundfile.write(str(path), samples, int(sample_rate), subtype=SUBTYPE, format="WAV")
    return path


def write_wavs(
    clips: Iterable[torch.Tensor],
    folder: Path,
    sample_rate: int,
    labels: torch.Tensor | None = None,
    n: int | None = None,
) -> list[Path]:
    """Clips (N, 1, L) (or an iterable of such batches) as folder/NN.wav; n: the total count, for
    the names' width, when the clips come in batches. A failure (a full disk, a read-only folder)
    is one UserError naming the file."""
    import soundfile
    import torch

    batches = [clips] if isinstance(clips, torch.Tensor) else clips
    total = n if n is not None else (clips.shape[0] if isinstance(clips, torch.Tensor) else 0)
    folder = Path(folder)
    written: list[Path] = []
    path = folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for batch in batches:
            for clip in batch:
                index = len(written)
                label = None if labels is None else int(labels[index])
                path = folder / wav_name(index, max(total, index + 1), label)
                written.append(write_wav(clip, path, sample_rate))
    except OSError as error:
        raise UserError(f"could not write {path}: {error.strerror or error}") from None
    except soundfile.SoundFileError as error:  # libsndfile's own: an unwritable path, a full disk
        raise UserError(f"could not write {path}: {' '.join(str(error).split())}") from None
    return written
