"""gan_cli.tools.spoken_digits: trimming, fitting and resampling on synthetic signals, file names,
voice listings, the refusals (no espeak-ng, a foreign folder, unknown voices), and (slow, where
espeak-ng is installed) a small set that data=audio_folder reads with ten classes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

soundfile = pytest.importorskip("soundfile")

from gan_cli.errors import UserError  # noqa: E402
from gan_cli.tools import spoken_digits as sd  # noqa: E402

ESPEAK_RATE = 22050


def word(rate: int = ESPEAK_RATE, freq: float = 500.0, seconds: float = 0.4, before: float = 0.1):
    """A tone burst standing for a word, with exact silence before it and 0.3 s after it."""
    t = np.arange(int(rate * seconds)) / rate
    burst = (0.5 * np.sin(2 * np.pi * freq * t) * np.hanning(t.shape[0]) ** 0.1).astype(np.float32)
    silence = np.zeros(int(rate * before), np.float32), np.zeros(int(rate * 0.3), np.float32)
    return np.concatenate([silence[0], burst, silence[1]])


def test_trim_silence_keeps_what_lies_between_the_first_and_last_loud_sample():
    signal = np.zeros(100, np.float32)
    signal[20] = 0.5
    signal[70] = -1.0
    signal[90] = 1e-4  # -80 dB below the peak: silence
    trimmed = sd.trim_silence(signal)
    assert trimmed.shape == (51,) and trimmed[0] == 0.5 and trimmed[-1] == -1.0
    assert sd.trim_silence(np.zeros(10, np.float32)).shape == (0,)


@pytest.mark.parametrize("align", ["centre", "left"])
def test_fit_pads_centred_or_left_and_cuts_the_end(align):
    out = sd.fit(np.ones(100, np.float32), 1000, align)
    assert out.shape == (1000,) and out.sum() == 100
    first = int(np.flatnonzero(out)[0])
    assert first == (450 if align == "centre" else 0)
    long = sd.fit(np.arange(2000, dtype=np.float32), 1000, align)
    assert long.shape == (1000,) and long[0] == 0 and long[-1] == 999
    with pytest.raises(ValueError):
        sd.fit(np.ones(3, np.float32), 10, "right")


def test_prepare_resamples_trims_and_centres_a_word():
    signal = word()
    clip, cut = sd.prepare(signal, ESPEAK_RATE)
    assert clip.dtype == np.int16 and clip.shape == (sd.LENGTH,) and not cut
    loud = np.flatnonzero(np.abs(clip) > 30)
    burst = 0.4 * sd.SAMPLE_RATE
    assert loud[-1] - loud[0] == pytest.approx(burst, abs=40)  # the silence is gone
    middle = (loud[0] + loud[-1]) / 2
    assert middle == pytest.approx(sd.LENGTH / 2, abs=40)  # centred
    # The tone keeps its frequency through 22050 -> 16000 Hz.
    spectrum = np.abs(np.fft.rfft(clip.astype(np.float64)))
    assert np.argmax(spectrum) * sd.SAMPLE_RATE / sd.LENGTH == pytest.approx(500.0, abs=2.0)
    assert np.abs(clip).max() == pytest.approx(0.5 * 32767, rel=0.02)

    stereo = np.stack([signal, signal], axis=1)
    assert np.array_equal(sd.prepare(stereo, ESPEAK_RATE)[0], clip)
    left, _ = sd.prepare(signal, ESPEAK_RATE, align="left")
    assert np.flatnonzero(np.abs(left) > 30)[0] < 40

    _, was_cut = sd.prepare(word(seconds=1.5), ESPEAK_RATE)
    assert was_cut


def test_the_plan_and_its_file_names():
    groups = sd.plan({"en-us": "gmw/en-US", "en-gb-x-rp": "gmw/en-GB-x-rp"}, ["none", "f3"], [130, 190], [35])
    assert len(groups) == 10 * 2 * 1 and all(len(group) == 2 * 2 for group in groups)
    clips = [clip for group in groups for clip in group]
    assert all(len({(c.digit, c.speed, c.pitch) for c in group}) == 1 for group in groups)
    # espeak-ng is given the voice's file: it drops the variant of some names (en-gb+f3)
    assert {clip.spec for clip in groups[0]} == {
        "gmw/en-US",
        "gmw/en-US+f3",
        "gmw/en-GB-x-rp",
        "gmw/en-GB-x-rp+f3",
    }
    assert {clip.digit for clip in clips} == set(sd.DIGITS)
    names = {clip.filename for clip in clips}
    assert len(names) == len(clips) // 10  # unique within a digit's folder
    assert "en-us_s130_p35.wav" in names and "en-gb-x-rp_f3_s190_p35.wav" in names
    odd = sd.Clip("seven", "en-us", "Mr serious", 160, 50)
    assert odd.spec == "en-us+Mr serious" and odd.filename == "en-us_Mr_serious_s160_p50.wav"
    assert odd.path(Path("out")) == Path("out/seven/en-us_Mr_serious_s160_p50.wav")
    assert len(sd.plan(["en-us"], ["none"], [160], [50, 60])) == 20


def test_a_clip_identical_to_another_voices_is_left_out_on_every_run(tmp_path, monkeypatch):
    calls = []

    def fake_synthesize(espeak, clip):
        calls.append(clip.voice)
        # en-us-nyc says it as en-us does; en-gb differently; "silent" says nothing
        freq = {"en-us": 500.0, "en-us-nyc": 500.0, "en-gb": 700.0}.get(clip.voice, 0.0)
        return word(freq=freq) * (freq > 0), ESPEAK_RATE

    monkeypatch.setattr(sd, "synthesize", fake_synthesize)
    (group,) = sd.plan(["en-us", "en-us-nyc", "en-gb", "silent"], ["none"], [160], [50])[:1]
    (tmp_path / "zero").mkdir()
    first = sd.make_group("espeak-ng", group, tmp_path, "centre")
    assert first[:3] == ["made", "same", "made"] and first[3].startswith("failed: ")
    assert "only silence" in first[3]
    assert sorted(p.name for p in (tmp_path / "zero").iterdir()) == [
        "en-gb_s160_p50.wav",
        "en-us_s160_p50.wav",
    ]
    calls.clear()
    second = sd.make_group("espeak-ng", group, tmp_path, "centre")
    assert second[:3] == ["exists", "same", "exists"] and calls == ["en-us-nyc", "silent"]
    assert len(list((tmp_path / "zero").iterdir())) == 2  # no partial files either


LISTING = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  en-gb-x-rp      --/M      English_(Received_Pronunciation) gmw/en-GB-x-rp       (en-gb 4)(en 5)
 5  en-us           --/F      us-mbrola-1        mb/mb-us1            (en 8)
 9  en              --/F      en-german-1        mb/mb-de1-en
 5  en-us-nyc       --/M      English_(America,_New_York_City) gmw/en-US-nyc
 5  variant         --/M      Mr_Serious         !v/Mr serious
"""


def test_parse_listing_reads_languages_names_and_files_with_spaces():
    rows = sd.parse_listing(LISTING)
    assert rows[0] == ("en-gb", "English_(Great_Britain)", "gmw/en")
    assert rows[1] == ("en-gb-x-rp", "English_(Received_Pronunciation)", "gmw/en-GB-x-rp")
    assert rows[3] == ("en", "en-german-1", "mb/mb-de1-en")
    assert rows[4][2] == "gmw/en-US-nyc" and rows[5][2] == "!v/Mr serious"


def test_mbrola_voices_count_only_where_mbrola_can_speak_them(monkeypatch):
    monkeypatch.setattr(sd, "_run_listing", lambda espeak, which: LISTING)
    monkeypatch.setattr(sd.shutil, "which", lambda name: None)
    assert sd.english_voices("espeak-ng") == {
        "en-gb": "gmw/en",
        "en-gb-x-rp": "gmw/en-GB-x-rp",
        "en-us-nyc": "gmw/en-US-nyc",
    }


def test_missing_espeak_is_one_line_naming_the_package(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sd.shutil, "which", lambda name: None)
    assert sd.main([str(tmp_path / "set")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "apt-get install espeak-ng" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "set").exists()


def test_missing_espeak_through_the_real_command(tmp_path):
    # A PATH holding only the interpreter's folder: no espeak-ng there.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "gan_cli.tools.spoken_digits", str(tmp_path / "set")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "apt-get install espeak-ng" in done.stderr


def test_a_foreign_folder_is_refused_unless_forced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="--force"):
        sd.check_out_dir(tmp_path, force=False)
    sd.check_out_dir(tmp_path, force=True)
    sd.check_out_dir(tmp_path / "new", force=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    sd.check_out_dir(empty, force=False)
    earlier = tmp_path / "earlier"
    (earlier / "zero").mkdir(parents=True)
    (earlier / sd.MARKER).write_text("")
    sd.check_out_dir(earlier, force=False)
    with pytest.raises(UserError, match="is a file"):
        sd.check_out_dir(tmp_path / "notes.txt", force=True)


def test_choices_match_without_case_and_unknown_ones_list_the_valid():
    available = ["en-gb", "en-us"]
    assert sd._choose(None, available, ["en-us"], "voices") == ["en-us"]
    assert sd._choose("EN-US, en-gb,en-us", available, [], "voices") == ["en-us", "en-gb"]
    assert sd._choose("all", available, [], "voices") == available
    with pytest.raises(UserError, match="unknown xx; available: en-gb, en-us"):
        sd._choose("en-us,xx", available, [], "voices")
    assert sd._numbers("130, 160", (1,), "speeds", sd.SPEED_RANGE) == [130, 160]
    assert sd._numbers(None, (1, 2), "speeds", sd.SPEED_RANGE) == [1, 2]
    for bad in ("fast", "40", "", "100,500"):
        with pytest.raises(UserError, match="--speeds"):
            sd._numbers(bad, (1,), "speeds", sd.SPEED_RANGE)


def test_summary_is_one_line():
    result = {"made": 14, "cut": 1, "exists": 3, "same": 1, "failed": 1, "total": 20, "voices": 2}
    result.update(seconds=1.25, first_failure="-v xx: no voice")
    line = sd.summary(Path("out"), result)
    assert "\n" not in line and line.startswith("spoken_digits: 18 clips in out")
    assert "15 made, 3 already there, 1 left out as identical to another voice's" in line
    assert "1 longer than 1 s and cut, 1 failed, first: -v xx" in line


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_small_set_reads_as_ten_classes_through_audio_folder(tmp_path, capsys):
    import torch

    import gan_cli.data as data
    from gan_cli.data import audio_folder
    from tests.helpers import compose_train

    out = tmp_path / "digits"
    # en-gb with a variant: espeak-ng speaks "en-gb+f3" as plain en-gb, so this also checks that
    # the variant reaches it (through the voice's file) and gives clips of its own.
    argv = [str(out), "--voices", "en-gb", "--variants", "none,f3", "--speeds", "160", "--pitches", "50"]
    assert sd.main([*argv, "--jobs", "2"]) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "20 clips" in line and "20 made" in line and "identical" not in line
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(sd.DIGITS)
    for digit in sd.DIGITS:
        paths = sorted((out / digit).glob("*.wav"))
        assert [p.name for p in paths] == ["en-gb_f3_s160_p50.wav", "en-gb_s160_p50.wav"]
        path = paths[0]
        info = soundfile.info(str(path))
        assert (info.samplerate, info.frames, info.channels, info.subtype) == (16000, 16384, 1, "PCM_16")
        samples, _ = soundfile.read(str(path), dtype="int16")
        assert np.abs(samples).max() > 3000  # a word, not silence
        assert samples[0] == 0 and samples[-1] == 0  # centred in silence

    # A second run makes nothing and says so.
    assert sd.main(argv) == 0
    assert "0 made, 20 already there" in capsys.readouterr().out

    assert audio_folder.find_audio(out).class_names == sorted(sd.DIGITS)
    composed = compose_train("data=audio_folder", f"data.path={out}")
    batches = data.build(composed.data, torch.device("cpu"), 4)
    x, y = batches.next()
    assert batches.n_classes == 10 and sorted(batches.class_names) == sorted(sd.DIGITS)
    assert x.shape == (4, 1, 16384) and y.shape == (4,)
