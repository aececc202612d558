"""Log-mel spectrograms of audio clips: what the audio kind shows (its view) and what the audio
feature extractor reads. Pure torch, deterministic; torch is imported inside the functions so that
importing this module costs nothing.

The mel scale is the HTK one (Young et al., The HTK Book, section 5.4; O'Shaughnessy 1987):
m = 2595 log10(1 + f / 700), with triangular filters whose corners are equally spaced in mel.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Added before the log so that silent frames give a finite floor (log(1e-6) ~ -13.8), not -inf.
LOG_FLOOR = 1e-6


def hz_to_mel(f):
    """HTK mel of a frequency in Hz (a float or a tensor)."""
    if isinstance(f, (int, float)):
        return 2595.0 * math.log10(1.0 + f / 700.0)
    return 2595.0 * (1.0 + f / 700.0).log10()


def mel_to_hz(m):
    """Inverse of hz_to_mel (a float or a tensor)."""
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters over the FFT bins, each peaking at 1 at its centre.

    The n_mels + 2 corner frequencies are equally spaced in HTK mel between f_min and f_max (the
    Nyquist frequency by default); filter i rises linearly from corner i to corner i + 1 and falls to
    corner i + 2. The weights are read off the continuous triangles at the bin frequencies, so a
    narrow low filter between two bins is small but not empty of meaning (no row is skipped)."""
    import torch

    if f_max is None:
        f_max = sample_rate / 2.0
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(f"mel band {f_min}..{f_max} Hz does not fit 0..{sample_rate / 2} Hz")
    n_bins = n_fft // 2 + 1
    bin_hz = torch.linspace(0.0, sample_rate / 2.0, n_bins, dtype=torch.float64)
    low, high = hz_to_mel(float(f_min)), hz_to_mel(float(f_max))
    corners_mel = torch.linspace(low, high, n_mels + 2, dtype=torch.float64)
    corners = mel_to_hz(corners_mel)
    lower, centre, upper = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    rising = (bin_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bin_hz[None, :]) / (upper - centre)
    return torch.minimum(rising, falling).clamp_(min=0.0).to(torch.float32)


def log_mel(
    clips: torch.Tensor, sample_rate: int, n_mels: int = 64, n_fft: int = 1024, hop: int = 256
) -> torch.Tensor:
    """(N, n_mels, frames) natural-log mel power spectrogram of clips (N, 1, L) or (N, L) in [-1, 1].

    Short-time Fourier transform with a periodic Hann window of n_fft samples every hop samples;
    frames are centred, the clip zero-padded by n_fft // 2 at both ends (frames = L // hop + 1);
    |X|^2 through mel_filterbank, then log(mel + 1e-6). Row 0 is the lowest band."""
    import torch

    if clips.dim() == 3:
        if clips.shape[1] != 1:
            raise ValueError(f"log_mel takes mono clips (N, 1, L); got {tuple(clips.shape)}")
        clips = clips[:, 0]
    elif clips.dim() != 2:
        raise ValueError(f"log_mel takes clips (N, 1, L) or (N, L); got {tuple(clips.shape)}")
    signal = clips.detach().to(torch.float32)
    window = torch.hann_window(n_fft, device=signal.device, dtype=torch.float32)
    spectrum = torch.stft(
        signal,
        n_fft=n_fft,
        hop_length=hop,
        window=window,
        center=True,
        pad_mode="constant",  # zeros: any clip length works (reflect needs L > n_fft // 2)
        return_complex=True,
    )
    power = spectrum.real.square() + spectrum.imag.square()  # (N, n_fft // 2 + 1, frames)
    bank = mel_filterbank(n_fft, n_mels, sample_rate).to(signal.device)
    mel = torch.matmul(bank, power)  # (N, n_mels, frames)
    return torch.log(mel + LOG_FLOOR)
