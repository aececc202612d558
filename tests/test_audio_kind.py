"""The audio data kind (gan_cli/data/audio_kind.py) and its log-mel spectrograms
(gan_cli/data/spectrogram.py): the filterbank, a tone's peak band, the view, WAV output."""

import math

import pytest
import torch

from gan_cli.data.spectrogram import hz_to_mel, log_mel, mel_filterbank, mel_to_hz

RATE = 16_000
LENGTH = 16_384


def tone(frequency, n=1, length=LENGTH, rate=RATE, amplitude=0.5):
    t = torch.arange(length, dtype=torch.float32) / rate
    return (amplitude * torch.sin(2 * math.pi * frequency * t)).expand(n, 1, length).clone()


# ---- spectrogram ---------------------------------------------------------------------------------


def test_htk_mel_formula_and_its_inverse():
    assert hz_to_mel(700.0) == pytest.approx(2595.0 * math.log10(2.0))
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # the scale is anchored at 1 kHz
    frequencies = torch.tensor([0.0, 100.0, 1000.0, 8000.0], dtype=torch.float64)
    assert torch.allclose(mel_to_hz(hz_to_mel(frequencies)), frequencies)


def test_filterbank_rows_are_triangles_peaking_in_ascending_order():
    bank = mel_filterbank(1024, 64, RATE)
    assert bank.shape == (64, 513)
    assert bank.dtype == torch.float32
    assert bank.min() >= 0 and bank.max() <= 1
    peaks = bank.argmax(dim=1)
    assert (peaks[1:] >= peaks[:-1]).all()  # low bands first
    assert (bank.sum(dim=1) > 0).all()  # no empty filter
    # adjacent triangles share corners, so between the first and last centres the columns sum to 1
    inner = bank[:, peaks[0] + 1 : peaks[-1]]
    assert torch.allclose(inner.sum(dim=0), torch.ones(inner.shape[1]), atol=1e-5)


def test_filterbank_band_limits():
    bank = mel_filterbank(512, 20, RATE, f_min=300.0, f_max=4000.0)
    bin_hz = torch.linspace(0, RATE / 2, 257)
    outside = (bin_hz <= 300.0) | (bin_hz >= 4000.0)
    assert bank[:, outside].abs().max() == 0
    with pytest.raises(ValueError):
        mel_filterbank(512, 20, RATE, f_max=RATE)


@pytest.mark.parametrize("frequency", [250.0, 1000.0, 3000.0, 6000.0])
def test_a_pure_tone_peaks_in_its_mel_band(frequency):
    spectrogram = log_mel(tone(frequency), RATE)
    assert spectrogram.shape == (1, 64, LENGTH // 256 + 1)
    band = int(spectrogram[0].mean(dim=1).argmax())
    # the band whose triangle centre is nearest the tone, by the HTK formula
    corners = torch.linspace(0.0, hz_to_mel(RATE / 2.0), 66)
    expected = int((corners[1:-1] - hz_to_mel(frequency)).abs().argmin())
    assert abs(band - expected) <= 1, (band, expected)


def test_log_mel_takes_both_layouts_and_is_deterministic():
    clips = torch.rand(3, 1, 4096) * 2 - 1
    first = log_mel(clips, RATE, n_mels=32, n_fft=512, hop=128)
    assert first.shape == (3, 32, 4096 // 128 + 1)
    assert torch.equal(first, log_mel(clips[:, 0], RATE, n_mels=32, n_fft=512, hop=128))
    assert torch.isfinite(log_mel(torch.zeros(2, 1, 1000), RATE)).all()  # silence: a finite floor
    with pytest.raises(ValueError):
        log_mel(torch.zeros(2, 2, 1000), RATE)
