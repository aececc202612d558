import pytest
import torch
from torch import nn

from gan_cli.training.ema import EMAGenerator, ema_decay


def test_after_k_updates_the_average_is_the_closed_form():
    net = nn.Linear(3, 2)
    decay, k = 0.9, 5
    ema = EMAGenerator(net, decay, warmup=False)
    start = net.weight.detach().clone()
    seen = []
    for i in range(k):
        with torch.no_grad():
            net.weight.copy_(torch.full_like(net.weight, float(i + 1)))
        seen.append(net.weight.detach().clone())
        ema.update()
    # ema_k = d^k w_0 + sum_i (1 - d) d^(k - i) w_i
    expected = decay**k * start + sum((1 - decay) * decay ** (k - 1 - i) * w for i, w in enumerate(seen))
    assert torch.allclose(ema.module.weight, expected, atol=1e-6)
    assert ema.updates == k


def test_decay_zero_follows_the_raw_weights():
    net = nn.Linear(3, 2)
    ema = EMAGenerator(net, 0.0, warmup=False)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update()
    assert torch.equal(ema.module.weight, net.weight)


def test_batchnorm_buffers_are_copied_not_averaged():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    ema = EMAGenerator(net, 0.99, warmup=False)
    net(torch.randn(16, 4) * 5 + 3)  # moves the running statistics
    ema.update()
    assert torch.equal(ema.module[1].running_mean, net[1].running_mean)
    assert torch.equal(ema.module[1].num_batches_tracked, net[1].num_batches_tracked)


def test_warmup_rule():
    assert ema_decay(0.999, 1, warmup=True) == pytest.approx(2 / 11)
    assert ema_decay(0.999, 10**6, warmup=True) == 0.999
    assert ema_decay(0.999, 1, warmup=False) == 0.999


def test_the_average_is_frozen_and_in_eval_mode():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = EMAGenerator(net, 0.5)
    assert not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_state_round_trip():
    net = nn.Linear(3, 2)
    ema = EMAGenerator(net, 0.9)
    ema.update()
    other = EMAGenerator(nn.Linear(3, 2), 0.9)
    other.load_state_dict(ema.state_dict())
    assert torch.equal(other.module.weight, ema.module.weight) and other.updates == 1
