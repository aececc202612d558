"""Fixtures of the `gan eval` tests: one banded MNIST-format set (the classifier learns it in a
second) per module, a short classifier recipe for it, and a checkpoint of a tiny generator."""

from pathlib import Path

import pytest

from gan_cli import evaluation
from gan_cli.metrics import classifier
from tests.evaluation.helpers import SMALL_MLP, train_config, write_checkpoint
from tests.metrics.labeled_images import mnist_cfg, write_banded_idx_set


@pytest.fixture(scope="module", autouse=True)
def short_classifier_recipe():
    """The banded set needs fewer images per step than real data (the cache key follows)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classifier, "BATCH_SIZE", 32)
        patch.setattr(classifier, "EPOCHS", 3)
        yield


@pytest.fixture(autouse=True)
def no_evaluators_kept():
    evaluation._EVALUATORS.clear()


@pytest.fixture(scope="module")
def banded(tmp_path_factory) -> dict:
    """One banded set (and so one classifier, trained once) for the module."""
    root = tmp_path_factory.mktemp("banded") / "data"
    write_banded_idx_set(root / "MNIST" / "raw", train_count=300, test_count=100)
    return mnist_cfg(root)


@pytest.fixture
def mnist_ckpt(tmp_path, banded) -> Path:
    config = train_config("data=mnist", *SMALL_MLP)
    config["data"] = banded
    return write_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", config, (1, 28, 28), ema=True)
