import pytest
import torch

from gan_cli.training import optim
from tests.helpers import compose_train


def nets():
    g, d = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    return g, d


@pytest.mark.parametrize(
    "option,kind",
    [
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("rmsprop", torch.optim.RMSprop),
        ("sgd", torch.optim.SGD),
    ],
)
def test_each_option_builds_its_optimizer_with_the_configured_rates(option, kind):
    g, d = nets()
    cfg = compose_train(f"optim={option}", "optim.g_lr=1e-3", "optim.d_lr=4e-3").optim
    g_opt, d_opt = optim.build(cfg, g, d, torch.device("cpu"))
    assert type(g_opt) is kind and type(d_opt) is kind
    assert g_opt.param_groups[0]["lr"] == 1e-3 and d_opt.param_groups[0]["lr"] == 4e-3
    assert {id(p) for p in g_opt.param_groups[0]["params"]} == {id(p) for p in g.parameters()}


def test_adam_defaults_are_the_dcgan_settings():
    g, d = nets()
    g_opt, _ = optim.build(compose_train().optim, g, d, torch.device("cpu"))
    assert g_opt.param_groups[0]["lr"] == 2e-4 and g_opt.param_groups[0]["betas"] == (0.5, 0.999)


def test_linear_schedule_reaches_zero_at_the_last_step():
    assert optim.scheduled_lr("linear", 1e-3, 0, 100) == 1e-3
    assert optim.scheduled_lr("linear", 1e-3, 50, 100) == pytest.approx(5e-4)
    assert optim.scheduled_lr("linear", 1e-3, 100, 100) == 0.0
    assert optim.scheduled_lr("constant", 1e-3, 100, 100) == 1e-3


def test_schedules_per_network():
    cfg = compose_train("optim.schedule=linear", "optim.d_schedule=constant").optim
    assert optim.schedules(cfg) == ("linear", "constant")
