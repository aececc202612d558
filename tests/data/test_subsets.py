"""data.classes / data.limit / data.subset_seed on MNIST-format and folder data, through the real
readers: the documented counts and labels, the same images for the same seed."""

from __future__ import annotations

import pytest
import torch

from gan_cli import data
from gan_cli.data import subsets
from gan_cli.errors import UserError

from .fakes import assert_one_line, data_cfg, write_idx_set, write_png


def _mnist(root, **keys):
    return data.build(data_cfg(name="mnist", root=str(root), download=False, split="train", **keys), "cpu", 4)


def test_classes_keep_those_classes_renumbered_in_the_order_listed(tmp_path):
    splits = write_idx_set(tmp_path / "MNIST" / "raw", train_count=40, test_count=20)
    images, labels = splits["train"]
    batches = _mnist(tmp_path, classes=[7, 3])
    keep = (labels == 7) | (labels == 3)
    assert batches.num_examples == int(keep.sum()) == 8
    assert batches.n_classes == 2
    # 7 -> 0, 3 -> 1, in file order
    assert batches.labels.tolist() == [0 if int(c) == 7 else 1 for c in labels[keep]]
    assert torch.equal(batches.images[:, 0], images[keep])
    assert batches.subset.class_ids == (7, 3) and batches.subset.total == 40
    assert "8 of 40 images" in batches.subset.describe()


def test_limit_keeps_n_after_a_seeded_shuffle_and_the_same_seed_the_same_images(tmp_path):
    write_idx_set(tmp_path / "MNIST" / "raw", train_count=40, test_count=20)
    a = _mnist(tmp_path, limit=5, subset_seed=3)
    b = _mnist(tmp_path, limit=5, subset_seed=3)
    c = _mnist(tmp_path, limit=5, subset_seed=4)
    assert a.num_examples == 5 and a.n_classes == 10
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    full = _mnist(tmp_path)
    expected = torch.randperm(40, generator=torch.Generator().manual_seed(3))[:5].sort().values
    assert torch.equal(a.images, full.images[expected])


def test_classes_then_limit_and_the_test_split_keeps_every_image_of_the_classes(tmp_path):
    write_idx_set(tmp_path / "MNIST" / "raw", train_count=40, test_count=30)
    train = _mnist(tmp_path, classes=[1], limit=2)
    assert train.num_examples == 2 and set(train.labels.tolist()) == {0}
    test_cfg = data_cfg(name="mnist", root=str(tmp_path), download=False, split="test", classes=[1], limit=2)
    test = data.build(test_cfg, "cpu", 4)
    assert test.num_examples == 3 and test.n_classes == 1  # labels 0..9 repeating: 1, 11, 21


def test_limit_above_the_count_keeps_all_and_no_keys_change_nothing(tmp_path):
    write_idx_set(tmp_path / "MNIST" / "raw", train_count=12)
    assert _mnist(tmp_path, limit=100).num_examples == 12
    plain = _mnist(tmp_path, classes=None, limit=None)
    assert plain.num_examples == 12 and plain.subset is None and plain.n_classes == 10


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"classes": [10]}, "data.classes=[10] is out of range"),
        ({"classes": []}, "data.classes=[]"),
        ({"classes": [1, 1]}, "twice"),
        ({"limit": 0}, "data.limit=0"),
    ],
)
def test_bad_subsets_are_one_line(tmp_path, keys, words):
    write_idx_set(tmp_path / "MNIST" / "raw", train_count=12)
    with pytest.raises(UserError) as caught:
        _mnist(tmp_path, **keys)
    assert words in assert_one_line(caught.value)


def _folder(tmp_path, classes=("cats", "dogs", "owls"), per_class=4):
    root = tmp_path / "photos"
    for c, name in enumerate(classes):
        for i in range(per_class):
            write_png(root / name / f"{i}.png", 8, 8, seed=10 * c + i)
    return root


def _folder_cfg(root, **keys):
    return data_cfg(name="folder", path=str(root), image_size=8, channels=3, workers=0, **keys)


def test_folder_classes_and_limit(tmp_path):
    root = _folder(tmp_path)
    owls_cats = data.build(_folder_cfg(root, classes=[2, 0]), "cpu", 2)
    assert owls_cats.num_examples == 8 and owls_cats.n_classes == 2
    assert owls_cats.labels.tolist() == [1] * 4 + [0] * 4  # cats (class 0 -> 1) come first in file order
    limited = data.build(_folder_cfg(root, limit=5, subset_seed=1), "cpu", 2)
    again = data.build(_folder_cfg(root, limit=5, subset_seed=1), "cpu", 2)
    assert limited.num_examples == 5 and limited.n_classes == 3
    assert torch.equal(limited.images, again.images)


def test_folder_without_class_subfolders_takes_a_limit_but_not_classes(tmp_path):
    root = tmp_path / "flat"
    for i in range(6):
        write_png(root / f"{i}.png", 8, 8, seed=i)
    assert data.build(_folder_cfg(root, limit=4), "cpu", 2).num_examples == 4
    with pytest.raises(UserError) as caught:
        data.build(_folder_cfg(root, classes=[0]), "cpu", 2)
    assert "no class labels" in assert_one_line(caught.value)


def test_a_streamed_folder_takes_the_subset_too(tmp_path):
    root = _folder(tmp_path)
    streamed = data.build(_folder_cfg(root, classes=[1], max_memory_mb=0), "cpu", 2)
    assert streamed.num_examples == 4 and streamed.n_classes == 1
    assert set(streamed.dataset.labels) == {0}


def test_subset_keys_compose_and_ranges_refuse_bad_values():
    from gan_cli.commands.config import check_ranges
    from tests.helpers import compose_train

    cfg = compose_train("data=fashion_mnist", "data.classes=[7]", "data.limit=100")
    assert list(cfg.data.classes) == [7] and cfg.data.limit == 100 and cfg.data.subset_seed == 0
    with pytest.raises(UserError) as caught:
        check_ranges(compose_train("data=mnist", "data.limit=-3"), "train")
    assert "data.limit" in assert_one_line(caught.value)
    assert subsets.is_subset({"classes": [1]}) and not subsets.is_subset({"classes": None, "limit": None})
