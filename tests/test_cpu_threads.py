"""One torch thread for the mlp family on the CPU (gan_cli.device.fit_cpu_threads), unless
OMP_NUM_THREADS says otherwise; conv families keep every core."""

import torch

from gan_cli import device, models
from tests.helpers import compose_train


def test_the_mlp_family_takes_one_thread_and_conv_families_keep_theirs(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    device.fit_cpu_threads(torch.device("cpu"), one_thread=False)
    assert torch.get_num_threads() == 2
    device.fit_cpu_threads(torch.device("cuda"), one_thread=True)  # only the CPU's threads
    assert torch.get_num_threads() == 2
    device.fit_cpu_threads(torch.device("cpu"), one_thread=True)
    assert torch.get_num_threads() == 1
    facts = {name: models.MODELS.get(name).facts.get("one_cpu_thread", False) for name in ("mlp", "dcgan")}
    assert facts == {"mlp": True, "dcgan": False}


def test_an_explicit_omp_num_threads_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    device.fit_cpu_threads(torch.device("cpu"), one_thread=True)
    assert torch.get_num_threads() == 2


def test_the_banner_names_one_thread_for_a_ring8_run(tmp_path, monkeypatch):
    from gan_cli.commands.train import build

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cfg = compose_train("data=ring8", "trainer.steps=1", "trainer.progress=false", "trainer.eval_every=0")
    facts = build(cfg, tmp_path).facts
    assert facts["device"].startswith("cpu (1 thread)")
