"""data=audio_folder: decoding, mono mixing, resampling, cut/pad, classes, unreadable files, and
the in-memory (int16) and streaming batches, on WAV/FLAC/OGG files written here with soundfile."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

soundfile = pytest.importorskip("soundfile")

import gan_cli.data as data  # noqa: E402
from gan_cli.data import audio_folder  # noqa: E402
from gan_cli.data.audio_folder import InMemoryAudio, StreamingAudio, load_clip, resample  # noqa: E402
from gan_cli.errors import DataNotFoundError, UserError  # noqa: E402

RATE = 16000
LENGTH = 16384


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(rate * seconds))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path: Path, signal: np.ndarray, rate: int, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), signal, rate, **kwargs)
    return path


def cfg(path: Path, **fields) -> SimpleNamespace:
    return SimpleNamespace(name="audio_folder", path=str(path), **fields)


def peak_hz(clip: np.ndarray, rate: int = RATE) -> tuple[float, float]:
    """(frequency of the spectrum's peak, the width of one bin), both in Hz."""
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(clip.shape[0])))
    return float(np.argmax(spectrum)) * rate / clip.shape[0], rate / clip.shape[0]


@pytest.mark.parametrize(
    ("rate", "suffix", "channels", "freq"),
    [
        (44100, "wav", 1, 1000.0),
        (44100, "flac", 2, 1000.0),
        (8000, "flac", 1, 440.0),
        (16000, "wav", 2, 2500.0),
    ],
)
def test_a_tone_keeps_its_frequency_after_decoding_and_resampling(tmp_path, rate, suffix, channels, freq):
    signal = tone(freq, rate, 1.2)
    if channels == 2:
        signal = np.stack([signal, signal], axis=1)
    path = write(tmp_path / f"tone.{suffix}", signal, rate)
    clip = load_clip(str(path), RATE, LENGTH)
    assert clip.shape == (LENGTH,) and clip.dtype == np.float32
    found, bin_hz = peak_hz(clip)
    assert abs(found - freq) <= bin_hz
    # The pass band keeps the level: a sine of amplitude 0.5 has RMS 0.5 / sqrt(2).
    assert np.sqrt(np.mean(clip[200:-200] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)


def test_resampling_removes_what_lies_above_the_new_nyquist_frequency():
    # 10 kHz at 44.1 kHz cannot exist at 16 kHz: a band-limited resampler drops it rather than
    # folding it down to 6 kHz; 1 kHz passes.
    high = resample(tone(10_000, 44100, 1.0), 44100, RATE)
    low = resample(tone(1000, 44100, 1.0), 44100, RATE)
    assert low.shape == (RATE,) and high.shape == (RATE,)
    assert np.sqrt(np.mean(high[200:-200] ** 2)) < 0.01 * np.sqrt(np.mean(low[200:-200] ** 2))
    assert peak_hz(low, RATE)[0] == pytest.approx(1000, abs=1.0)


def test_stereo_is_mixed_to_mono(tmp_path):
    frames = np.zeros((RATE, 2), dtype=np.float32)
    frames[:, 0], frames[:, 1] = 0.5, 0.1
    clip = load_clip(str(write(tmp_path / "lr.wav", frames, RATE, subtype="FLOAT")), RATE, LENGTH)
    assert np.allclose(clip[:RATE], 0.3, atol=1e-6)
    opposite = tone(440, RATE, 1.0)
    clip = load_clip(
        str(write(tmp_path / "cancel.wav", np.stack([opposite, -opposite], 1), RATE)), RATE, LENGTH
    )
    assert np.abs(clip).max() < 1e-4


def test_clips_are_cut_or_zero_padded_at_the_end_and_clamped(tmp_path):
    short = tone(300, RATE, 0.5)
    clip = load_clip(str(write(tmp_path / "short.wav", short, RATE, subtype="FLOAT")), RATE, LENGTH)
    assert np.array_equal(clip[: short.shape[0]], short) and not clip[short.shape[0] :].any()

    long = tone(300, RATE, 5.0)
    clip = load_clip(str(write(tmp_path / "long.flac", long, RATE)), RATE, LENGTH)
    assert np.allclose(clip, long[:LENGTH], atol=1 / 32768)  # FLAC: 16-bit PCM

    padded = load_clip(str(tmp_path / "long.flac"), RATE, 65536)
    assert (
        padded.shape == (65536,) and np.abs(padded[: 5 * RATE]).max() > 0.4 and not padded[5 * RATE :].any()
    )

    loud = np.full(RATE, 1.7, dtype=np.float32)  # a float file may exceed full scale
    clip = load_clip(str(write(tmp_path / "loud.wav", loud, RATE, subtype="FLOAT")), RATE, LENGTH)
    assert clip.max() == 1.0


def test_first_level_subfolders_become_sorted_classes(tmp_path):
    for name, freq in [("zeta", 300), ("alpha", 500), ("mid", 700)]:
        write(tmp_path / name / "a.wav", tone(freq, RATE, 0.2), RATE)
        write(tmp_path / name / "deeper" / "b.FLAC", tone(freq, 8000, 0.2), 8000)
    write(tmp_path / "mid" / "c.ogg", tone(700, RATE, 0.2), RATE, format="OGG", subtype="VORBIS")
    (tmp_path / "alpha" / "notes.txt").write_text("not audio")
    (tmp_path / "alpha" / ".hidden.wav").write_bytes(b"tool debris")

    batches = data.build(cfg(tmp_path), "cpu", 4)
    assert batches.kind == "audio" and batches.n_classes == 3
    assert batches.class_names == ["alpha", "mid", "zeta"]
    assert batches.num_examples == 7
    assert batches.labels.tolist() == [0, 0, 1, 1, 1, 2, 2]

    picked = data.build(cfg(tmp_path, classes=[2, 0]), "cpu", 4)  # renumbered in the order given
    assert picked.n_classes == 2 and picked.class_names == ["zeta", "alpha"]
    assert sorted(picked.labels.tolist()) == [0, 0, 1, 1] and picked.subset.kept == 4

    limited = data.build(cfg(tmp_path, limit=3), "cpu", 4)
    assert limited.num_examples == 3 and limited.subset.total == 7


def test_files_in_the_root_make_an_unlabeled_set(tmp_path):
    write(tmp_path / "a.wav", tone(300, RATE, 0.2), RATE)
    write(tmp_path / "one" / "b.wav", tone(300, RATE, 0.2), RATE)
    write(tmp_path / "two" / "c.wav", tone(300, RATE, 0.2), RATE)
    batches = data.build(cfg(tmp_path), "cpu", 4)
    assert batches.n_classes == 0 and batches.labels is None and batches.next()[1] is None
    with pytest.raises(UserError, match="no class labels"):
        data.build(cfg(tmp_path, classes=[0]), "cpu", 4)


def _folder_with_a_broken_file(root: Path) -> Path:
    write(root / "good1.wav", tone(300, RATE, 0.2), RATE)
    write(root / "good2.flac", tone(300, RATE, 0.2), RATE)
    broken = root / "broken.wav"
    broken.write_bytes(b"RIFF this is not a wave file at all")
    return broken


@pytest.mark.parametrize("max_memory_mb", [1024, 0])
def test_unreadable_files_are_counted_in_one_warning(tmp_path, caplog, max_memory_mb):
    broken = _folder_with_a_broken_file(tmp_path)
    with caplog.at_level(logging.WARNING, logger="gan_cli.data"):
        batches = data.build(cfg(tmp_path, max_memory_mb=max_memory_mb), "cpu", 4)
    assert batches.num_examples == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 1 of 3" in warnings[0] and str(broken) in warnings[0]


@pytest.mark.parametrize("max_memory_mb", [1024, 0])
def test_strict_makes_an_unreadable_file_an_error_naming_it(tmp_path, max_memory_mb):
    broken = _folder_with_a_broken_file(tmp_path)
    with pytest.raises(UserError) as caught:
        data.build(cfg(tmp_path, strict=True, max_memory_mb=max_memory_mb), "cpu", 4)
    message = str(caught.value)
    assert "\n" not in message and str(broken) in message and "1 of 3" in message


def test_a_folder_of_only_unreadable_files_is_one_line(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"junk")
    (tmp_path / "y.flac").write_bytes(b"")
    with pytest.raises(UserError, match="none of the 2 sound files") as caught:
        data.build(cfg(tmp_path), "cpu", 4)
    assert "\n" not in str(caught.value)


def test_empty_missing_and_non_audio_folders_are_one_line(tmp_path):
    with pytest.raises(UserError, match="no sound files") as caught:
        data.build(cfg(tmp_path), "cpu", 4)
    assert "\n" not in str(caught.value)
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("hello")
    with pytest.raises(UserError, match=r"no sound files.*\.wav \.flac \.ogg"):
        data.build(cfg(tmp_path), "cpu", 4)
    with pytest.raises(DataNotFoundError, match="does not exist") as caught:
        data.build(cfg(tmp_path / "nowhere"), "cpu", 4)
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="is a file"):
        data.build(cfg(tmp_path / "picture.png"), "cpu", 4)
    with pytest.raises(UserError, match="data.path"):
        data.build(SimpleNamespace(name="audio_folder"), "cpu", 4)


def _tones(root: Path, count: int = 6) -> None:
    for index in range(count):
        klass = "high" if index % 2 else "low"
        write(root / klass / f"{index}.wav", tone(200 + 100 * index, 44100, 0.5), 44100)


def test_in_memory_int16_and_streaming_give_the_same_batches(tmp_path):
    _tones(tmp_path)
    memory = data.build(cfg(tmp_path), "cpu", 5)
    streaming = data.build(cfg(tmp_path, max_memory_mb=0), "cpu", 5)
    assert isinstance(memory, InMemoryAudio) and isinstance(streaming, StreamingAudio)
    assert memory.clips.dtype == torch.int16 and memory.clips.shape == (6, 1, LENGTH)
    for batches in (memory, streaming):
        assert batches.kind == "audio" and batches.shape == (1, LENGTH) and batches.num_examples == 6
        assert batches.n_classes == 2 and batches.batch_size == 5 and batches.sample_rate == RATE
    torch.manual_seed(3)
    x_memory, y_memory = memory.next()
    torch.manual_seed(3)
    x_streaming, y_streaming = streaming.next()
    for x in (x_memory, x_streaming):
        assert x.shape == (5, 1, LENGTH) and x.dtype == torch.float32
        assert x.abs().max() <= 1.0 and x.abs().max() > 0.4
    assert torch.equal(y_memory, y_streaming)
    assert torch.allclose(x_memory, x_streaming, atol=1 / 32767)  # int16 storage: half a step
    # a fixed real sample, leaving the training RNG alone
    state = torch.get_rng_state()
    real = memory.real_sample(4)
    assert torch.equal(torch.get_rng_state(), state)
    assert real.shape == (4, 1, LENGTH) and torch.equal(real, memory.real_sample(4))
    assert torch.allclose(real, streaming.real_sample(4), atol=1 / 32767)
    assert streaming.real_sample(9).shape == (9, 1, LENGTH)  # more than the set: drawn with replacement


def test_int16_storage_keeps_full_scale_exactly():
    clips = torch.tensor([[[-32767, 0, 32767, -32768]]], dtype=torch.int16)
    batches = InMemoryAudio(clips, None, 0, "cpu", 2, RATE)
    x, y = batches.next()
    assert y is None and x.shape == (2, 1, 4)
    assert x[0, 0].tolist() == [-1.0, 0.0, 1.0, -1.0]
    with pytest.raises(ValueError):
        InMemoryAudio(clips.float(), None, 0, "cpu", 2, RATE)


def test_composed_through_the_real_config(tmp_path):
    from gan_cli.data.shapes import data_shape
    from gan_cli.registry import DATA
    from tests.helpers import compose_train

    _tones(tmp_path, 4)
    composed = compose_train("data=audio_folder", f"data.path={tmp_path}")
    assert composed.data.name == "audio_folder" and composed.data.sample_rate == RATE
    assert composed.data.length == LENGTH and composed.data.strict is False
    batches = data.build(composed.data, torch.device("cpu"), 8)
    x, y = batches.next()
    assert x.shape == (8, 1, LENGTH) and y.shape == (8,) and batches.n_classes == 2
    assert data_shape(composed.data, look=False) == (1, LENGTH)

    entry = DATA.get("audio_folder")
    assert entry.kind == "audio" and entry.summary
    long = compose_train("data=audio_folder", f"data.path={tmp_path}", "data.length=65536")
    entry.check(long.data)
    assert data_shape(long.data) == (1, 65536)
    for bad in (1000, 20000):
        with pytest.raises(UserError, match="16384 or 65536"):
            entry.check(
                compose_train("data=audio_folder", f"data.path={tmp_path}", f"data.length={bad}").data
            )
    assert not entry.ranges["length"].admits(100) and not entry.ranges["sample_rate"].admits(0)


def test_registering_imports_neither_torch_nor_soundfile():
    code = (
        "import sys, gan_cli.data.audio_folder; "
        "assert 'torch' not in sys.modules and 'soundfile' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert audio_folder.AudioFolderData().name == "audio_folder"
