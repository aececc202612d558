"""MNIST, Fashion-MNIST and CIFAR-10 read from small fake files through torchvision's real classes."""

import gzip
import os
import socket
import struct
import time
from pathlib import Path

import pytest
import torch
import torchvision

import gan_cli.data as data
from gan_cli.data import torchvision_sets
from gan_cli.data.memory import InMemoryImages
from gan_cli.errors import DataNotFoundError, UserError

from .fakes import (
    assert_one_line,
    data_cfg,
    deadline,
    write_cifar_set,
    write_idx_images,
    write_idx_labels,
    write_idx_set,
)


def mnist_cfg(root, **overrides):
    fields = {"name": "mnist", "root": str(root), "split": "train", "download": False}
    return data_cfg(**{**fields, **overrides})


def test_mnist_idx_files_become_uint8_on_the_device_once(mnist_root):
    root, splits = mnist_root
    batches = data.build(mnist_cfg(root), torch.device("cpu"), 6)
    images, labels = splits["train"]
    assert isinstance(batches, InMemoryImages)
    assert (batches.shape, batches.kind, batches.n_classes) == ((1, 28, 28), "image", 10)
    assert batches.num_examples == 12
    # One uint8 copy: the stored tensor is exactly the pixels, with no float twin kept alongside.
    assert batches.images.dtype == torch.uint8
    assert batches.images.untyped_storage().nbytes() == images.numel()
    assert torch.equal(batches.images[:, 0], images)
    assert torch.equal(batches.labels, labels)

    x, y = batches.next()
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32 and x.device.type == "cpu"
    assert y.shape == (6,) and y.dtype == torch.int64 and y.device.type == "cpu"
    everything = batches.real_sample(batches.num_examples)
    assert everything.min().item() == -1.0 and everything.max().item() == 1.0
    expected = images.unsqueeze(1).float() / 127.5 - 1
    order = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(everything, expected[order], atol=0, rtol=0)


def test_mnist_test_split(mnist_root):
    root, splits = mnist_root
    batches = data.build(mnist_cfg(root, split="test"), "cpu", 2)
    assert batches.num_examples == 5
    assert torch.equal(batches.images[:, 0], splits["t10k"][0])


def test_unknown_split_is_a_user_error(mnist_root):
    root, _ = mnist_root
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root, split="validation"), "cpu", 2)
    assert "data.split" in assert_one_line(caught.value)


def test_missing_mnist_without_download_names_the_folder(tmp_path, capfd):
    with pytest.raises(DataNotFoundError) as caught:
        data.build(mnist_cfg(tmp_path / "nowhere"), "cpu", 2)
    message = assert_one_line(caught.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message
    assert "data.download=false" in message and "GAN_DATA_DIR" in message
    assert capfd.readouterr() == ("", "")


@pytest.fixture
def silent_server(monkeypatch):
    """A local port that accepts connections but never answers, as a firewalled mirror would behave."""
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def test_a_hanging_download_fails_fast_and_quietly(tmp_path, monkeypatch, silent_server, capfd):
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [silent_server])
    monkeypatch.setattr(torchvision_sets, "DOWNLOAD_SOCKET_TIMEOUT_S", 0.2)
    default_timeout = socket.getdefaulttimeout()
    started = time.monotonic()
    with pytest.raises(DataNotFoundError) as caught:
        data.build(mnist_cfg(tmp_path, download=True), "cpu", 2)
    assert time.monotonic() - started < 5
    message = assert_one_line(caught.value)
    assert "download failed" in message and "timed out" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert socket.getdefaulttimeout() == default_timeout
    assert capfd.readouterr() == ("", "")


def test_corrupt_idx_files_are_a_user_error(mnist_root):
    root, _ = mnist_root
    (root / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x07garbage")
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root), "cpu", 2)
    assert "unreadable" in assert_one_line(caught.value)


def raw_file(root, name):
    return root / "MNIST" / "raw" / name


@pytest.mark.parametrize(
    "content,message",
    [
        # A header claiming 2^32-1 images of 2^32-1 x 2^32-1: refused from the header, nothing read.
        (struct.pack(">IIII", 2051, 2**32 - 1, 2**32 - 1, 2**32 - 1), "its header declares 4294967295 x"),
        (struct.pack(">IIII", 2049, 12, 28, 28) + bytes(12 * 784), "magic number 0x00000801"),
        (struct.pack(">IIII", 2051, 12, 28, 28) + bytes(100), "9424 with the header; has 116"),
        (b"\x00\x00", "too short"),
    ],
    ids=["huge_header", "wrong_magic", "truncated", "tiny"],
)
def test_idx_headers_are_checked_against_the_file_before_reading(mnist_root, content, message):
    root, _ = mnist_root
    raw_file(root, "train-images-idx3-ubyte").write_bytes(content)
    with deadline(20), pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root), "cpu", 2)
    text = assert_one_line(caught.value)
    assert message in text and "train-images-idx3-ubyte is unreadable as an IDX file" in text


def test_idx_images_and_labels_must_agree(mnist_root):
    root, _ = mnist_root
    write_idx_labels(raw_file(root, "train-labels-idx1-ubyte"), torch.arange(7) % 10)
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root), "cpu", 2)
    assert "holds 12 images and train-labels-idx1-ubyte 7 labels" in assert_one_line(caught.value)


def test_idx_images_of_another_size_are_refused(mnist_root):
    root, _ = mnist_root
    write_idx_images(raw_file(root, "t10k-images-idx3-ubyte"), torch.zeros(5, 14, 14))
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root, split="test"), "cpu", 2)
    assert "its images are 14x14, mnist has 28x28" in assert_one_line(caught.value)


def test_an_idx_split_without_images_is_refused(mnist_root):
    root, _ = mnist_root
    write_idx_images(raw_file(root, "train-images-idx3-ubyte"), torch.zeros(0, 28, 28))
    write_idx_labels(raw_file(root, "train-labels-idx1-ubyte"), torch.zeros(0))
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root), "cpu", 2)
    assert "it holds no images" in assert_one_line(caught.value)


def test_idx_labels_beyond_the_classes_are_refused(mnist_root):
    root, _ = mnist_root
    write_idx_labels(raw_file(root, "train-labels-idx1-ubyte"), torch.full((12,), 200))
    with pytest.raises(UserError) as caught:
        data.build(mnist_cfg(root), "cpu", 2)
    assert "go up to 200, beyond the 10 classes" in assert_one_line(caught.value)


def test_an_idx_name_that_is_a_fifo_does_not_hang(mnist_root):
    root, _ = mnist_root
    path = raw_file(root, "train-images-idx3-ubyte")
    path.unlink()
    os.mkfifo(path)
    with deadline(20), pytest.raises(UserError):  # not a file: torchvision says it is missing
        data.build(mnist_cfg(root), "cpu", 2)


@pytest.fixture
def fake_debian_dir(tmp_path, monkeypatch):
    """Debian's layout: the four IDX files gzipped side by side, no FashionMNIST/raw folders."""
    plain = tmp_path / "plain"
    splits = write_idx_set(plain, train_count=9, test_count=4)
    debian = tmp_path / "debian-fashion-mnist"
    debian.mkdir()
    for file in plain.iterdir():
        (debian / f"{file.name}.gz").write_bytes(gzip.compress(file.read_bytes()))
    monkeypatch.setattr(torchvision_sets, "DEBIAN_FASHION_MNIST_DIR", debian)
    return splits


def fashion_cfg(root, **overrides):
    fields = {"name": "fashion_mnist", "root": str(root), "split": "train", "download": True}
    return data_cfg(**{**fields, **overrides})


def test_fashion_mnist_is_unpacked_from_the_debian_package(tmp_path, fake_debian_dir):
    root = tmp_path / "data"
    batches = data.build(fashion_cfg(root), "cpu", 3)
    raw = root / "FashionMNIST" / "raw"
    assert sorted(path.name for path in raw.iterdir()) == [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
    ]
    assert (batches.num_examples, batches.shape, batches.n_classes) == (9, (1, 28, 28), 10)
    assert torch.equal(batches.images[:, 0], fake_debian_dir["train"][0])
    test_split = data.build(fashion_cfg(root, split="test"), "cpu", 3)
    assert torch.equal(test_split.labels, fake_debian_dir["t10k"][1])


def test_fashion_mnist_prefers_files_already_in_torchvisions_layout(tmp_path, fake_debian_dir):
    root = tmp_path / "data"
    own = write_idx_set(root / "FashionMNIST" / "raw", train_count=3, test_count=2)
    batches = data.build(fashion_cfg(root), "cpu", 3)
    assert torch.equal(batches.images[:, 0], own["train"][0])


def test_missing_fashion_mnist_suggests_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision_sets, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "not-installed")
    with pytest.raises(DataNotFoundError) as caught:
        data.build(fashion_cfg(tmp_path / "data", download=False), "cpu", 3)
    message = assert_one_line(caught.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path / "data" / "FashionMNIST" / "raw") in message


DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_from_debian(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision_sets, "DEBIAN_FASHION_MNIST_DIR", DEBIAN_FASHION_MNIST)
    batches = data.build(fashion_cfg(tmp_path, download=False), "cpu", 64)
    assert (batches.num_examples, batches.shape, batches.n_classes) == (60000, (1, 28, 28), 10)
    assert torch.equal(torch.bincount(batches.labels), torch.full((10,), 6000))
    x, _ = batches.next()
    assert x.min() >= -1 and x.max() <= 1


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    # torchvision's CIFAR10 checks every batch (and batches.meta) against md5s hard-coded on the
    # class. The fake batches cannot match those, so the test swaps in the fakes' own md5s for
    # this test only: the real reading path, including its integrity check, still runs unchanged.
    root = tmp_path / "data"
    written = write_cifar_set(root / torchvision.datasets.CIFAR10.base_folder)
    md5 = written["md5"]
    cifar = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cifar, "train_list", [[name, md5[name]] for name, _ in cifar.train_list])
    monkeypatch.setattr(cifar, "test_list", [[name, md5[name]] for name, _ in cifar.test_list])
    monkeypatch.setattr(cifar, "meta", {**cifar.meta, "md5": md5["batches.meta"]})
    return root, written


def test_cifar10_batches_are_read_by_torchvision(cifar_root):
    root, written = cifar_root
    cfg = data_cfg(name="cifar10", root=str(root), split="train", download=False)
    batches = data.build(cfg, "cpu", 4)
    assert (batches.shape, batches.n_classes, batches.num_examples) == ((3, 32, 32), 10, 10)
    assert batches.images.dtype == torch.uint8 and batches.images.is_contiguous()
    assert torch.equal(batches.images, written["train_rows"].view(10, 3, 32, 32))
    assert batches.labels.tolist() == written["train_labels"]
    x, y = batches.next()
    assert x.shape == (4, 3, 32, 32) and y.dtype == torch.int64

    test_split = data.build(data_cfg(name="cifar10", root=str(root), split="test", download=False), "cpu", 4)
    assert torch.equal(test_split.images, written["test_rows"].view(3, 3, 32, 32))


def test_a_corrupted_cifar_batch_is_reported_as_missing_data(cifar_root):
    root, _ = cifar_root
    (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"truncated")
    cfg = data_cfg(name="cifar10", root=str(root), split="train", download=False)
    with pytest.raises(DataNotFoundError) as caught:
        data.build(cfg, "cpu", 4)
    assert str(root / "cifar-10-batches-py") in assert_one_line(caught.value)
