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


# ---- the kind ------------------------------------------------------------------------------------


def test_audio_is_a_registered_kind_with_its_facts():
    from gan_cli.data import kinds

    audio = kinds.kind_named("audio")
    assert audio.describe == "audio clips"
    assert (audio.conv_layout, audio.interpolates, audio.compared_by_features) == (False, True, True)
    assert kinds.kind_of_shape((1, LENGTH)) is audio
    assert kinds.kind_of_data({"name": "audio_folder", "kind": "audio"}, (1, LENGTH)) is audio
    assert audio.default_metrics(0) == kinds.kind_named("image").default_metrics(0)
    assert audio.default_metrics(10) == kinds.kind_named("image").default_metrics(10)


def test_the_view_is_a_spectrogram_grid_with_low_bands_at_the_bottom():
    from gan_cli.data.kinds import kind_named

    audio = kind_named("audio")
    clips = torch.cat([tone(200.0, 2), tone(6000.0, 2)])
    picture = audio.view(clips, {"sample_rate": RATE}, nrow=2)
    assert picture.dim() == 3 and picture.shape[0] == 3
    assert picture.min() >= 0 and picture.max() <= 1
    # 2 x 2 tiles of 64 bands x 65 frames, drawn twice the size, 2 pixels apart
    assert tuple(picture.shape[1:]) == (2 + 2 * (128 + 2), 2 + 2 * (130 + 2))
    brightness = picture.mean(dim=0)
    low_tile, high_tile = brightness[2 : 2 + 128, 2 : 2 + 130], brightness[132 : 132 + 128, 2 : 2 + 130]
    assert low_tile.mean(dim=1).argmax() > 96  # 200 Hz: bright near the tile's bottom
    assert high_tile.mean(dim=1).argmax() < 64  # 6 kHz: in the upper half
    assert audio.view(clips, None).shape == picture.shape  # no source: the default 16 kHz
    assert torch.isfinite(audio.view(torch.zeros(1, 1, LENGTH), None)).all()  # silence draws


def test_clip_clamps_to_full_scale():
    from gan_cli.data.kinds import kind_named

    clips = torch.tensor([[[-3.0, -1.0, 0.5, 2.0]]])
    assert kind_named("audio").clip(clips).tolist() == [[[-1.0, -1.0, 0.5, 1.0]]]


def test_output_roles():
    from gan_cli.data.kinds import kind_named
    from gan_cli.errors import UserError

    audio, image, points = kind_named("audio"), kind_named("image"), kind_named("points")
    assert audio.output_roles("grid") == audio.output_roles("wav") == ("wav", "grid")
    assert audio.output_roles("npy") == ("npy",)
    assert audio.output_roles("grid", interpolate=True) == ("grid",)
    assert audio.output_roles("grid", interpolate=True, gif=True) == ("grid", "gif")
    for kind, fmt in ((audio, "png"), (image, "wav"), (points, "wav")):
        with pytest.raises(UserError) as caught:
            kind.output_roles(fmt)
        assert "\n" not in str(caught.value) and f"format={fmt}" in str(caught.value)


def test_sample_rate_comes_from_batches_or_a_data_config():
    from types import SimpleNamespace

    from gan_cli.data.kinds import kind_named

    audio = kind_named("audio")
    assert audio.sample_rate(SimpleNamespace(sample_rate=8000)) == 8000
    assert audio.sample_rate({"name": "audio_folder", "sample_rate": 22050}) == 22050
    assert audio.sample_rate(None) == RATE
    assert kind_named("image").sample_rate(None) is None
    assert kind_named("image").write_samples(torch.zeros(1, 1, 4, 4), "unused") == []


def test_wavs_round_trip_length_rate_and_values(tmp_path):
    import soundfile

    from gan_cli.data.kinds import kind_named

    clips = torch.cat([tone(440.0), tone(880.0), torch.zeros(1, 1, LENGTH)])
    written = kind_named("audio").write_samples(clips, tmp_path / "step", {"sample_rate": 8000})
    assert [path.name for path in written] == ["00.wav", "01.wav", "02.wav"]
    for path, clip in zip(written, clips, strict=True):
        data, rate = soundfile.read(path, dtype="float32")
        assert rate == 8000 and data.shape == (LENGTH,)
        assert soundfile.info(path).subtype == "PCM_16"
        assert torch.allclose(torch.from_numpy(data), clip[0], atol=1 / 32767 + 1e-6)


def test_wav_names_widen_and_carry_classes(tmp_path):
    from gan_cli.outputs.audio import wav_name, write_wavs

    assert (wav_name(3, 16), wav_name(3, 1000), wav_name(0, 10, 7)) == ("03.wav", "003.wav", "00-class7.wav")
    batches = [torch.zeros(2, 1, 64), torch.zeros(1, 1, 64)]
    written = write_wavs(batches, tmp_path, RATE, labels=torch.tensor([1, 0, 1]), n=3)
    assert [path.name for path in written] == ["00-class1.wav", "01-class0.wav", "02-class1.wav"]


def test_an_unwritable_folder_is_one_line(tmp_path):
    from gan_cli.errors import UserError
    from gan_cli.outputs.audio import write_wavs

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError) as caught:
        write_wavs(torch.zeros(1, 1, 64), blocker / "sub", RATE)
    assert "\n" not in str(caught.value) and "could not write" in str(caught.value)


def test_models_take_clips_only_where_the_family_takes_audio():
    from types import SimpleNamespace

    from gan_cli import models
    from gan_cli.errors import UserError

    with pytest.raises(UserError, match=r"model=mlp needs .*; for audio data use model=wavegan$"):
        models.build(SimpleNamespace(name="mlp"), (1, 28))
    with pytest.raises(UserError, match=r"model=wavegan needs audio data \(C, L\), got data of shape"):
        models.build(SimpleNamespace(name="wavegan", width=4), (1, 28, 28))
    generator, _ = models.build(SimpleNamespace(name="wavegan", width=4), (1, LENGTH))
    assert generator.shape == (1, LENGTH)


def test_tensorboard_gets_the_first_clips_as_audio(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gan_cli.outputs.sinks.base import RunInfo
    from gan_cli.outputs.sinks.tensorboard import AUDIO_CLIPS, TensorBoardSink

    sink = TensorBoardSink(RunInfo(tmp_path, total_steps=10))
    sink.audio(5, "samples", tone(440.0, AUDIO_CLIPS + 2, length=1600), RATE)
    sink.close()
    (events,) = (tmp_path / "tb").iterdir()
    accumulator = EventAccumulator(str(events), size_guidance={"audio": 0})
    accumulator.Reload()
    assert accumulator.Tags()["audio"] == [f"samples/{index:02d}" for index in range(AUDIO_CLIPS)]
    (event,) = accumulator.Audio("samples/00")
    assert (event.step, event.sample_rate, event.length_frames) == (5, RATE, 1600)


def test_gan_sample_plans_a_folder_of_wavs_and_the_grid(tmp_path):
    from types import SimpleNamespace

    from gan_cli.errors import UserError
    from gan_cli.sampling.destinations import plan_outputs

    def cfg(**fields):
        defaults = {"format": "grid", "interpolate": False, "gif": False, "out": None}
        return SimpleNamespace(**{**defaults, **fields})

    planned = plan_outputs(cfg(), "audio", tmp_path)
    assert planned == {"wav": tmp_path / "samples", "grid": tmp_path / "samples.png"}
    own = tmp_path / "heard"
    planned = plan_outputs(cfg(format="wav", out=str(own)), "audio", None)
    assert planned == {"wav": own, "grid": own / "samples.png"}
    assert plan_outputs(cfg(format="npy"), "audio", tmp_path) == {"npy": tmp_path / "samples.npy"}
    with pytest.raises(UserError, match=r"^out=x\.wav: format=wav writes one \.wav file per clip"):
        plan_outputs(cfg(format="wav", out="x.wav"), "audio", None)


def test_the_rate_of_a_built_audio_folder_reaches_the_kind(tmp_path):
    from types import SimpleNamespace

    import soundfile

    from gan_cli import data
    from gan_cli.data.kinds import kind_named

    for name in ("a", "b"):
        soundfile.write(tmp_path / f"{name}.wav", tone(440.0, rate=8000)[0, 0].numpy(), 8000)
    settings = {"name": "audio_folder", "path": str(tmp_path), "sample_rate": 8000, "length": LENGTH}
    batches = data.build(SimpleNamespace(**settings), "cpu", 2)
    assert batches.kind == "audio" and kind_named(batches.kind).sample_rate(batches) == 8000
