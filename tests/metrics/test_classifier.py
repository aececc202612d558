"""The offline extractor: a small CNN trained on the data set's labeled training split, cached."""

import pytest
import torch

from gan_cli.errors import UserError
from gan_cli.metrics import cache, classifier
from tests.data.fakes import assert_one_line, write_png
from tests.metrics.labeled_images import banded_images, mnist_cfg, write_banded_idx_set


@pytest.fixture
def banded(tmp_path, monkeypatch):
    """A banded MNIST set, and a recipe short enough for it (the cache key follows the recipe)."""
    root = tmp_path / "data"
    write_banded_idx_set(root / "MNIST" / "raw", train_count=200, test_count=50)
    monkeypatch.setattr(classifier, "BATCH_SIZE", 32)
    monkeypatch.setattr(classifier, "EPOCHS", 3)
    return mnist_cfg(root)


def test_features_and_logits_have_the_advertised_shapes():
    model = classifier.SmallClassifier(channels=3, n_classes=7)
    for side in (28, 32, 64):
        features, logits = model.features_and_logits(torch.zeros(2, 3, side, side, dtype=torch.uint8))
        assert features.shape == (2, model.num_features) and logits.shape == (2, 7)
        assert features.min() >= 0  # post-ReLU


def test_fit_is_deterministic_and_leaves_the_global_rng_alone():
    images, labels = banded_images(64, seed=0)
    images = images.unsqueeze(1)
    state = torch.get_rng_state()
    first = classifier.fit(images, labels, 10, "cpu", epochs=1, batch_size=16)
    assert torch.equal(torch.get_rng_state(), state)
    second = classifier.fit(images, labels, 10, "cpu", epochs=1, batch_size=16)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_trains_on_the_training_split_measures_the_test_split_and_caches(banded):
    notes = []
    trained = classifier.load_or_train(banded, "cpu", note=notes.append)
    assert trained.trained_now and trained.accuracy_on == "test split"
    assert trained.accuracy > 0.9  # the bands are easy: the classifier really learned them
    assert trained.path.parent == cache.folder(banded) and trained.path.name.startswith("classifier-mnist-")
    assert any(f"{trained.accuracy:.2%}" in note for note in notes)
    stored = cache.load(trained.path)
    assert stored["accuracy"] == trained.accuracy and stored["n_classes"] == 10


def test_a_second_call_loads_the_cache_without_training(banded, monkeypatch):
    first = classifier.load_or_train(banded, "cpu", note=lambda _: None)

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(classifier, "fit", must_not_train)
    again = classifier.load_or_train(banded, "cpu", note=lambda _: None)
    assert not again.trained_now
    assert again.accuracy == first.accuracy and again.weights_digest == first.weights_digest
    # The cache is for the data, not for where it is read from: another data.root of the same set
    # has its own cache folder, so this one must train (and would).
    assert classifier.cache_path({**banded, "root": "/elsewhere"}) != first.path
    assert classifier.cache_path({**banded, "split": "test"}) == first.path


def test_a_changed_recipe_does_not_reuse_the_old_file(banded, monkeypatch):
    first = classifier.cache_path(banded)
    monkeypatch.setattr(classifier, "HIDDEN", 64)
    assert classifier.cache_path(banded) != first


def test_a_corrupt_cache_file_is_trained_again(banded):
    path = classifier.cache_path(banded)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    assert classifier.load_or_train(banded, "cpu", note=lambda _: None).trained_now


def test_a_folder_without_classes_has_no_classifier(tmp_path):
    for index in range(4):
        write_png(tmp_path / "faces" / f"{index}.png", 8, 8, seed=index)
    cfg = {"name": "folder", "root": str(tmp_path / "data"), "path": str(tmp_path / "faces"), "image_size": 8}
    with pytest.raises(UserError) as error:
        classifier.load_or_train(cfg, "cpu")
    message = assert_one_line(error.value)
    assert "features=classifier needs class labels" in message and "features=inception" in message


def test_a_folder_with_classes_holds_out_a_tenth_for_the_accuracy(tmp_path):
    for label in ("cats", "dogs"):
        for index in range(10):
            write_png(
                tmp_path / "pets" / label / f"{index}.png", 8, 8, seed=index + (50 if label == "dogs" else 0)
            )
    cfg = {
        "name": "folder",
        "root": str(tmp_path / "data"),
        "path": str(tmp_path / "pets"),
        "image_size": 8,
        "workers": 0,
    }
    trained = classifier.load_or_train(cfg, "cpu", note=lambda _: None)
    assert trained.accuracy_on == "10% held out" and trained.model.n_classes == 2
    assert 0.0 <= trained.accuracy <= 1.0


@pytest.mark.slow
def test_a_run_trains_the_same_whether_or_not_the_classifier_was_cached(tmp_path):
    """The first run trains the classifier, the second loads it: their losses are bit-identical."""
    import json

    from tests.helpers import run_gan

    write_banded_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=200, test_count=50)
    command = ["train", "data=mnist", "data.download=false", "model.g_hidden=[16]", "model.d_hidden=[16]",
               "trainer.steps=20", "trainer.log_every=5", "trainer.eval_every=10", "trainer.eval_n=50",
               "trainer.progress=false"]  # fmt: skip
    losses = []
    for run in ("first", "second"):
        done = run_gan(*command, f"hydra.run.dir=outputs/{run}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in (tmp_path / "outputs" / run / "metrics.jsonl").open()]
        losses.append([(r["step"], r["d_loss"], r["g_loss"], r.get("fid")) for r in records])
    assert "training the evaluation classifier" in (tmp_path / "outputs" / "first" / "train.log").read_text()
    assert (
        "training the evaluation classifier"
        not in (tmp_path / "outputs" / "second" / "train.log").read_text()
    )
    assert losses[0] == losses[1]
