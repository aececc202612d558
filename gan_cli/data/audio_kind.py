"""The audio data kind: mono clips (N, 1, L) in [-1, 1] (data=audio_folder). Shown as a grid of
log-mel spectrograms, written as one WAV file per clip, scored through features like images.

Registered in gan_cli.data.kinds (imported at that module's end); torch is imported inside the
methods. The sample rate comes from the source: a training run's Batches (its `sample_rate`), or
the data config a checkpoint recorded (`gan sample` passes it where no real data is rebuilt).
"""

from __future__ import annotations

from typing import Any

from gan_cli.data.kinds import DataKind, feature_metrics, register_kind
from gan_cli.errors import UserError

DEFAULT_SAMPLE_RATE = 16000  # data=audio_folder's data.sample_rate default
# The spectrogram of the view: about 64 ms windows every 16 ms at 16 kHz (1024 / 256 samples),
# 64 mel bands; a 16384-sample clip is a 64 x 65 tile.
VIEW_MELS, VIEW_FFT, VIEW_HOP = 64, 1024, 256


def sample_rate_of(source: Any) -> int:
    """data.sample_rate of a source: an object with `sample_rate` (a Batches, a data set), a
    mapping or config holding the key (a checkpoint's data config), else the data set's default."""
    rate = getattr(source, "sample_rate", None)
    if rate is None and hasattr(source, "get"):
        try:
            rate = source.get("sample_rate")
        except Exception:  # noqa: BLE001 - a struct config without the key
            rate = None
    return int(rate) if rate else DEFAULT_SAMPLE_RATE


class AudioKind(DataKind):
    name = "audio"
    describe = "audio clips"
    sample_dims = 2
    shape_text = "(C, L)"
    interpolates = True  # a walk between latents: a grid of spectrograms, one row per walk
    compared_by_features = True  # through an audio feature extractor (log-mel CNN)

    def view(self, generated, source=None, nrow=None):
        from gan_cli.data.spectrogram import log_mel
        from gan_cli.outputs import plots

        rate = sample_rate_of(source)
        clips = generated.detach().float().cpu()
        n_fft = min(VIEW_FFT, clips.shape[-1])  # clips shorter than a window still get a picture
        spectrograms = log_mel(clips, rate, n_mels=VIEW_MELS, n_fft=n_fft, hop=max(1, n_fft // 4))
        return plots.spectrogram_grid(spectrograms, nrow=nrow)

    def clip(self, generated):
        return generated.clamp_(-1, 1)  # full scale, as written to 16-bit PCM

    def default_metrics(self, n_classes, features="classifier"):
        return feature_metrics(n_classes, features)

    def output_roles(self, fmt, interpolate=False, gif=False):
        if interpolate:
            return ("grid", "gif") if gif else ("grid",)
        if fmt in ("wav", "grid"):  # grid is the sample config's default: sound files and their view
            return ("wav", "grid")
        if fmt == "npy":
            return ("npy",)
        raise UserError(
            f"format={fmt} writes images; this checkpoint's samples are {self.describe}: "
            "use format=wav (one .wav per clip and a spectrogram grid) or format=npy"
        )

    def sample_rate(self, source):
        return sample_rate_of(source)

    def write_samples(self, generated, folder, source=None, labels=None):
        from gan_cli.outputs.audio import write_wavs

        return write_wavs(generated, folder, sample_rate_of(source), labels)


register_kind(AudioKind())
