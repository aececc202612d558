"""The checkpoints most `gan sample` tests read, built once per test module."""

from pathlib import Path

import pytest

from tests.sampling.helpers import PLAIN_RING8, SMALL_MLP, train_config, write_checkpoint


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpts")
    return {
        "mnist": write_checkpoint(root / "mnist.pt", train_config("data=mnist", *SMALL_MLP), (1, 28, 28)),
        "cifar": write_checkpoint(
            root / "cifar.pt", train_config("model=dcgan", "data=cifar10", "model.width=8"), (3, 32, 32)
        ),
        "ring8": write_checkpoint(root / "ring8.pt", train_config(*PLAIN_RING8, *SMALL_MLP), (2,)),
        # a real conditional family (mlp, cond=concat) on a labelled set of 10 classes
        "mnist_concat": write_checkpoint(
            root / "mnist_concat.pt",
            train_config("data=mnist", "model.cond=concat", *SMALL_MLP),
            (1, 28, 28),
            n_classes=10,
        ),
    }
