"""The Evaluator on 2D sets and on images (banded MNIST-format sets, tiny generators)."""

from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from gan_cli import evaluation, models
from gan_cli.errors import UserError
from gan_cli.metrics import cache, classifier, extractors
from tests.data.fakes import assert_one_line, write_png
from tests.evaluation.helpers import SMALL_MLP, quiet, tiny_generator, train_config


def test_ring8_gives_the_mode_metrics_deterministically_and_restores_train_mode():
    config = train_config("data=ring8", *SMALL_MLP)
    generator = tiny_generator(config, (2,)).train()
    evaluator = evaluation.Evaluator(config["data"], n=500, batch_size=128)
    state = torch.get_rng_state()
    first = evaluator.evaluate(generator, seed=3)
    assert torch.equal(torch.get_rng_state(), state) and generator.training
    assert set(first) == {"modes_captured", "high_quality_pct", "kl_uniform"}
    assert 0 <= first["modes_captured"] <= 8
    assert evaluator.evaluate(generator, seed=3) == first
    assert evaluator.describe() == {"data": "ring8", "extractor": "points", "split": "-", "n": 500}
    with pytest.raises(UserError) as error:
        evaluator.evaluate(generator, ["fid"])
    assert "metrics=fid does not apply to data=ring8 (2D points); valid here: modes" in str(error.value)


def test_n_beyond_a_2d_set_is_capped_at_its_n_points():
    config = train_config("data=ring8", *SMALL_MLP, "data.n_points=300")
    notes = []
    evaluator = evaluation.Evaluator(config["data"], n=10**11, note=notes.append)
    assert evaluator.describe()["n"] == 300 and "(its data.n_points)" in notes[0]
    results = evaluator.evaluate(tiny_generator(config, (2,)))
    assert 0 <= results["modes_captured"] <= 8


def test_images_with_the_classifier(banded):
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    results = evaluator.evaluate(generator, seed=0)
    assert set(results) == {
        "fid",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "coverage",
        "coverage_kl",
        "score",
    }
    assert results["fid"] > 0 and 0 <= results["precision"] <= 1 and 1 <= results["score"] <= 10
    assert evaluator.evaluate(generator, seed=0) == results  # deterministic
    assert evaluator.evaluate(generator, ["fid"], seed=1)["fid"] != results["fid"]
    facts = evaluator.describe()
    assert facts["extractor"] == "classifier" and facts["split"] == "test" and facts["n_real"] == 64
    assert facts["classifier_accuracy"] > 0.9


def test_real_images_score_better_than_noise(banded):
    from gan_cli import data

    train = data.build(SimpleNamespace(**{**banded, "split": "train"}), "cpu", 1)
    real_images = train.images[:64].float() / 127.5 - 1
    noise = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    real = evaluator.evaluate_samples(real_images)
    fake = evaluator.evaluate_samples(noise.split(10))
    assert real["fid"] < fake["fid"] and real["kid"] < fake["kid"]
    assert real["precision"] > fake["precision"] and real["recall"] > fake["recall"]
    assert real["coverage"] == 10 and real["coverage_kl"] < fake["coverage_kl"]
    assert real["score"] > 5 > fake["score"]


def test_real_features_are_cached_per_dataset_split_extractor_and_n(banded, monkeypatch):
    evaluation.Evaluator(banded, n=51, note=quiet)
    evaluation.Evaluator(banded, n=61, note=quiet)
    evaluation.Evaluator(banded, n=61, split="train", note=quiet)
    names = sorted(p.name for p in cache.folder(banded).glob("real-*-n[56]1-*.pt"))
    assert [name.rsplit("-", 1)[0] for name in names] == [
        "real-mnist-test-classifier-n51",
        "real-mnist-test-classifier-n61",
        "real-mnist-train-classifier-n61",
    ]

    def must_not_extract(self, images):
        raise AssertionError("real features extracted again")

    monkeypatch.setattr(extractors.ClassifierExtractor, "__call__", must_not_extract)
    again = evaluation.Evaluator(banded, n=61, note=quiet)
    assert again.real.features.shape == (61, classifier.HIDDEN) and again.real.radii.shape == (61,)


def test_n_beyond_the_split_uses_the_whole_split_and_generates_as_many(banded):
    notes = []
    evaluator = evaluation.Evaluator(banded, n=10**11, note=notes.append)
    assert evaluator.n_real == 100 and evaluator.describe()["n"] == 100
    assert [note for note in notes if "n=100,000,000,000 is more than the 100 images" in note]
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    assert sum(batch.shape[0] for batch in evaluator._generated(generator, seed=0)) == 100
    assert set(evaluator.evaluate(generator, ["fid"])) == {"fid"}


def test_n_within_the_split_is_kept_without_a_note(banded):
    notes = []
    evaluator = evaluation.Evaluator(banded, n=40, note=notes.append)
    assert evaluator.n == evaluator.n_real == 40
    assert not [note for note in notes if "is more than" in note]


def test_precision_recall_of_too_few_samples_is_one_line(banded):
    evaluator = evaluation.Evaluator(banded, n=3, note=quiet)
    config = train_config("data=mnist", *SMALL_MLP)
    assert set(evaluator.evaluate(tiny_generator(config, (1, 28, 28)), ["fid"])) == {"fid"}
    with pytest.raises(UserError) as error:
        evaluator.evaluate(tiny_generator(config, (1, 28, 28)), ["pr"])
    assert "metrics=pr needs more than 3 samples" in assert_one_line(error.value)


def test_evaluate_generator_keeps_its_evaluator_between_calls(banded, monkeypatch):
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    first = evaluation.evaluate_generator(generator, OmegaConf.create(banded), ["fid"], n=32, seed=0)

    def must_not_build(*args, **kwargs):
        raise AssertionError("built the evaluator again")

    monkeypatch.setattr(evaluation.Evaluator, "__init__", must_not_build)
    assert evaluation.evaluate_generator(generator, banded, ["fid"], n=32, seed=0) == first


def test_coverage_needs_the_classifier(banded, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from tests.metrics.test_extractors import random_inception_weights

    pytest.importorskip("torch_fidelity")
    random_inception_weights(extractors.inception_weights_path())
    evaluator = evaluation.Evaluator(banded, features="inception", n=4, note=quiet)
    assert evaluator.resolve_metrics(None) == ["fid", "kid", "pr", "score"]
    with pytest.raises(UserError) as error:
        evaluator.resolve_metrics(["coverage"])
    assert "needs features=classifier" in assert_one_line(error.value)


def test_a_folder_without_classes_refuses_the_classifier(tmp_path):
    for index in range(4):
        write_png(tmp_path / "faces" / f"{index}.png", 8, 8, mode="L", seed=index)
    cfg = {
        "name": "folder",
        "root": str(tmp_path),
        "path": str(tmp_path / "faces"),
        "image_size": 8,
        "channels": 1,
    }
    with pytest.raises(UserError) as error:
        evaluation.Evaluator(cfg, n=4)
    assert "use features=inception" in assert_one_line(error.value)


def test_a_folder_with_classes_is_one_split(tmp_path):
    for label in ("cats", "dogs"):
        for index in range(6):
            write_png(tmp_path / "pets" / label / f"{index}.png", 8, 8, mode="L", seed=index + 9 * len(label))
    cfg = {
        "name": "folder",
        "root": str(tmp_path / "data"),
        "path": str(tmp_path / "pets"),
        "image_size": 8,
        "channels": 1,
        "workers": 0,
    }
    evaluator = evaluation.Evaluator(cfg, n=8, note=quiet)
    assert evaluator.describe()["split"] == "all" and evaluator.n_classes == 2
    generator, _ = models.build(
        OmegaConf.create({"name": "mlp", "z_dim": 4, "g_hidden": [8], "d_hidden": [8]}), (1, 8, 8)
    )
    results = evaluator.evaluate(generator, ["fid", "coverage"])
    assert set(results) == {"fid", "coverage_kl", "coverage"} and results["coverage"] <= 2


def test_a_generator_of_another_shape_is_refused(banded):
    config = train_config("data=cifar10", "model=mlp", *SMALL_MLP)
    evaluator = evaluation.Evaluator(banded, n=8, note=quiet)
    with pytest.raises(UserError, match=r"shape \(3, 32, 32\)"):
        evaluator.evaluate(tiny_generator(config, (3, 32, 32)))
