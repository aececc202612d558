"""The audio feature extractor (gan_cli/metrics/audio_classifier.py): a log-mel CNN trained on an
audio folder's classes, cached like the image classifier, and the metrics read through it. The
data are sine tones made with torch, one frequency band per class."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gan_cli import evaluation
from gan_cli.errors import UserError
from gan_cli.metrics import audio_classifier, cache, extractors
from tests.data.fakes import assert_one_line

RATE = 16000
LENGTH = 16384
FREQS = (300.0, 1200.0, 4000.0)  # Hz: about 3, 13 and 30 mel bands apart of the 64


def tones(per_class: int, seed: int, length: int = LENGTH, freqs=FREQS) -> tuple[torch.Tensor, torch.Tensor]:
    """float (N, 1, length) clips in [-1, 1] and their classes: a sine of the class's frequency
    (+-5%), random phase and amplitude, a little noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(len(freqs)).repeat_interleave(per_class)
    n = labels.shape[0]
    freq = torch.tensor(freqs)[labels] * (1 + 0.1 * (torch.rand(n, generator=generator) - 0.5))
    phase = 2 * math.pi * torch.rand(n, 1, generator=generator)
    amplitude = 0.2 + 0.6 * torch.rand(n, 1, generator=generator)
    t = torch.arange(length) / RATE
    clips = amplitude * torch.sin(2 * math.pi * freq[:, None] * t + phase)
    clips = clips + 0.02 * torch.randn(n, length, generator=generator)
    return clips.clamp(-1, 1).unsqueeze(1), labels


def write_tone_folder(root: Path, per_class: int, seed: int = 0, classes: bool = True) -> Path:
    soundfile = pytest.importorskip("soundfile")
    clips, labels = tones(per_class, seed)
    for index, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        folder = root / f"tone{int(label)}" if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(folder / f"{index:03d}.wav"), clip[0].numpy(), RATE, subtype="PCM_16")
    return root


@pytest.fixture
def quick_recipe(monkeypatch):
    """Two steps on the tiny folder: enough for the hooks and the cache (the key follows the recipe);
    how well it learns is the slow test's."""
    monkeypatch.setattr(audio_classifier, "BATCH_SIZE", 16)
    monkeypatch.setattr(audio_classifier, "EPOCHS", 1)


@pytest.fixture
def tone_folder(tmp_path, quick_recipe) -> dict:
    path = write_tone_folder(tmp_path / "tones", per_class=12)
    return {"name": "audio_folder", "path": str(path), "root": str(tmp_path / "data"), "sample_rate": RATE}


@pytest.mark.parametrize("length", [16384, 65536])
def test_features_and_logits_have_the_documented_shapes(length):
    model = audio_classifier.new_classifier(n_classes=3, sample_rate=RATE).eval()
    clips = audio_classifier.to_int16(tones(1, seed=0, length=length)[0])
    features, logits = model.features_and_logits(clips)
    assert model.num_features == audio_classifier.HIDDEN == 128
    assert features.shape == (3, 128) and logits.shape == (3, 3)
    assert features.min() >= 0  # post-ReLU
    # int16 clips and their float originals read the same
    assert torch.allclose(model.features_and_logits(audio_classifier._as_float(clips))[0], features)


def test_int16_storage_round_trips_full_scale():
    clips = torch.tensor([[[-1.5, -1.0, 0.0, 0.5, 1.0, 2.0]]])
    stored = audio_classifier.to_int16(clips)
    assert stored.dtype == torch.int16 and stored[0, 0].tolist() == [-32767, -32767, 0, 16384, 32767, 32767]


@pytest.mark.slow
def test_the_classifier_separates_tone_classes_on_held_out_tones():
    train, train_labels = tones(30, seed=1)
    test, test_labels = tones(15, seed=2)
    state = torch.get_rng_state()
    mels = audio_classifier.log_mels(train, RATE)
    model = audio_classifier.fit(mels, train_labels, 3, RATE, "cpu", epochs=3, batch_size=16)
    assert torch.equal(torch.get_rng_state(), state)  # a training run's RNG is left alone
    accuracy = audio_classifier.accuracy_on_mels(model, audio_classifier.log_mels(test, RATE), test_labels)
    assert accuracy > 0.9
    again = audio_classifier.fit(mels, train_labels, 3, RATE, "cpu", epochs=3, batch_size=16)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the same clips give the same weights


def test_trains_once_then_the_cache_is_reused(tone_folder, monkeypatch):
    notes = []
    first = audio_classifier.load_or_train(tone_folder, "cpu", note=notes.append)
    assert first.trained_now and first.accuracy_on == "10% held out" and first.model.n_classes == 3
    assert 0.0 <= first.accuracy <= 1.0
    assert first.path.parent == cache.folder(tone_folder)
    assert first.path.name.startswith("classifier-audio_folder-")
    assert any(f"{first.accuracy:.2%}" in note for note in notes)
    assert cache.load(first.path)["sample_rate"] == RATE

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(audio_classifier, "fit", must_not_train)
    again = audio_classifier.load_or_train(tone_folder, "cpu", note=lambda _: None)
    assert not again.trained_now and again.weights_digest == first.weights_digest
    built = extractors.build("classifier", tone_folder, "cpu", note=lambda _: None)
    assert isinstance(built, extractors.AudioClassifierExtractor) and built.num_features == 128


def test_the_cache_key_names_the_folder_rate_length_and_recipe(tone_folder, monkeypatch):
    path = audio_classifier.cache_path(tone_folder)
    assert audio_classifier.cache_path({**tone_folder, "split": "test"}) == path
    assert audio_classifier.cache_path({**tone_folder, "sample_rate": 8000}) != path
    assert audio_classifier.cache_path({**tone_folder, "length": 65536}) != path
    assert audio_classifier.cache_path({**tone_folder, "path": "/elsewhere"}) != path
    monkeypatch.setattr(audio_classifier, "HIDDEN", 64)
    assert audio_classifier.cache_path(tone_folder) != path


def test_fid_of_real_against_real_is_zero_and_against_noise_large(tone_folder):
    evaluation._EVALUATORS.clear()
    evaluator = evaluation.Evaluator(tone_folder, features="classifier", n=36, note=lambda _: None)
    assert evaluator.real.features.shape == (36, 128)
    assert evaluator.resolve_metrics(None) == ["fid", "kid", "pr", "coverage", "score"]
    clips, _ = tones(12, seed=0)  # the folder's own clips (written as 16-bit PCM)
    same = evaluator.evaluate_samples(clips, ["fid", "kid", "coverage"])
    noise = torch.rand(36, 1, LENGTH, generator=torch.Generator().manual_seed(3)) * 2 - 1
    other = evaluator.evaluate_samples(noise, ["fid", "kid", "coverage"])
    assert abs(same["fid"]) < 1e-2
    assert other["fid"] > 100 * max(abs(same["fid"]), 1e-3) and other["fid"] > 1.0
    assert other["kid"] > same["kid"] and 0 <= other["coverage"] <= 3
    assert evaluator.describe()["extractor"] == "classifier"


def test_features_inception_on_audio_is_one_line(tone_folder):
    with pytest.raises(UserError) as error:
        extractors.build("inception", tone_folder, "cpu")
    assert "features=inception is for images" in assert_one_line(error.value)
    with pytest.raises(UserError) as error:
        evaluation.Evaluator(tone_folder, features="inception", n=10)
    assert "features=inception is for images" in assert_one_line(error.value)


def test_a_folder_without_classes_has_no_audio_classifier(tmp_path):
    path = write_tone_folder(tmp_path / "loose", per_class=2, classes=False)
    cfg = {"name": "audio_folder", "path": str(path), "root": str(tmp_path / "data")}
    for attempt in (
        lambda: audio_classifier.load_or_train(cfg, "cpu"),
        lambda: evaluation.Evaluator(cfg, features="classifier", n=4),
    ):
        with pytest.raises(UserError) as error:
            attempt()
        message = assert_one_line(error.value)
        assert "needs class labels" in message and "subfolder per class" in message
        assert "inception" not in message


@pytest.mark.slow
def test_gan_eval_scores_a_wavegan_run_on_a_folder_of_tones(tmp_path):
    import json

    from tests.helpers import run_folders, run_gan

    tones_path = write_tone_folder(tmp_path / "tones", per_class=10)
    train = run_gan(
        "train", "model=wavegan", "model.width=2", "data=audio_folder", f"data.path={tones_path}",
        "trainer.steps=2", "trainer.batch_size=4", "trainer.log_every=1", "trainer.sample_every=2",
        "trainer.ckpt_every=2", "trainer.eval_every=0", "trainer.progress=false",
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    (run_dir,) = run_folders(tmp_path)
    scored = run_gan("eval", f"ckpt={run_dir}", "n=24", cwd=tmp_path, timeout=120)
    assert scored.returncode == 0, scored.stderr
    for name in ("fid", "kid", "precision", "recall", "coverage", "score"):
        assert name in scored.stdout
    assert "real audio clips: 24" in scored.stdout  # the footer names what was compared
    (written,) = run_dir.rglob("eval.json")
    text = written.read_text()
    assert "fid" in text and "classifier" in text and json.loads(text)
    assert list((tmp_path / "data" / "gan_cli_cache").glob("classifier-audio_folder-*.pt"))
    refused = run_gan("eval", f"ckpt={run_dir}", "n=24", "features=inception", cwd=tmp_path, timeout=120)
    assert refused.returncode == 2 and "features=inception is for images" in refused.stderr
    assert "Traceback" not in refused.stderr
