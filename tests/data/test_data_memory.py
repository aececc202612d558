"""Batching behaviour shared by every in-memory set: reproducible, resumable, RNG-neutral sampling."""

import pytest
import torch

import gan_cli.data as data

from .fakes import data_cfg


@pytest.fixture(params=["ring8", "mnist"])
def batches(request, mnist_root):
    if request.param == "ring8":
        return data.build(data_cfg(name="ring8", n_points=500), "cpu", 16)
    root, _ = mnist_root
    return data.build(data_cfg(name="mnist", root=str(root), split="train", download=False), "cpu", 16)


def draw(batches, steps=3):
    return [batches.next() for _ in range(steps)]


def assert_same_draws(first, second):
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert torch.equal(x1, x2)
        assert (y1 is None and y2 is None) or torch.equal(y1, y2)


def test_seeding_torch_makes_batches_reproducible(batches):
    torch.manual_seed(0)
    first = draw(batches)
    torch.manual_seed(0)
    assert_same_draws(first, draw(batches))


def test_restoring_the_rng_state_resumes_the_same_batches(batches):
    torch.manual_seed(3)
    batches.next()
    state = torch.get_rng_state()
    after_resume = draw(batches)
    torch.set_rng_state(state)
    assert_same_draws(after_resume, draw(batches))


def test_real_sample_is_fixed_and_leaves_the_global_rng_alone(batches):
    torch.manual_seed(5)
    state = torch.get_rng_state()
    sample = batches.real_sample(7)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(sample, batches.real_sample(7))
    assert sample.shape == (7, *batches.shape) and sample.dtype == torch.float32


def test_real_sample_may_ask_for_more_than_the_set_holds(batches):
    assert batches.real_sample(batches.num_examples + 3).shape[0] == batches.num_examples + 3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_stay_on_the_device_without_host_syncs(mnist_root):
    root, _ = mnist_root
    cuda = torch.device("cuda")
    images = data.build(data_cfg(name="mnist", root=str(root), split="train", download=False), cuda, 32)
    points = data.build(data_cfg(name="grid25", n_points=1000), cuda, 32)
    assert images.images.device.type == "cuda" and images.images.dtype == torch.uint8
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host sync inside next() raises
    try:
        for source in (images, points):
            for _ in range(3):
                x, y = source.next()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    x, y = images.next()
    assert x.device.type == "cuda" and y.device.type == "cuda" and y.dtype == torch.int64
    assert points.next()[0].device.type == "cuda"
