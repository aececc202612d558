"""Shared fixtures for the model tests (fixtures rather than a helper module, so the
tests work under any pytest import mode)."""

from types import SimpleNamespace

import pytest
import torch

from gan_cli.errors import UserError


@pytest.fixture(autouse=True)
def _seeded():
    # Init-statistics tests read random weights; a fixed seed keeps them from flaking.
    torch.manual_seed(0)


@pytest.fixture
def model_cfg():
    """Factory for a model config as a plain attribute object: build must not care
    whether it gets a DictConfig or anything else."""

    def make(name: str, **fields) -> SimpleNamespace:
        return SimpleNamespace(name=name, **fields)

    return make


@pytest.fixture
def raises_one_line_user_error():
    """``with raises_one_line_user_error("30x30", "28"): ...``"""

    class _Check:
        def __init__(self, *fragments: str):
            self.fragments = fragments
            self._raises = pytest.raises(UserError)

        def __enter__(self):
            return self._raises.__enter__()

        def __exit__(self, *exc):
            suppressed = self._raises.__exit__(*exc)
            message = str(self._raises.excinfo.value)
            assert message and "\n" not in message, f"not one line: {message!r}"
            for fragment in self.fragments:
                assert fragment in message, f"{fragment!r} missing from {message!r}"
            return suppressed

    return _Check


@pytest.fixture
def assert_gradients_reach_every_parameter():
    """A generator loss through D must train every parameter of G (and reach D's)."""

    def check(generator, discriminator, batch: int = 4) -> None:
        generator.train()
        discriminator.train()
        z = torch.randn(batch, generator.z_dim)
        discriminator(generator(z)).mean().backward()
        for module in (generator, discriminator):
            for name, param in module.named_parameters():
                where = f"{type(module).__name__}.{name}"
                assert param.grad is not None, f"{where} got no gradient"
                assert torch.isfinite(param.grad).all(), f"{where} gradient is not finite"
                assert param.grad.abs().sum() > 0, f"{where} gradient is zero"

    return check
