"""Shared options: slow tests (end-to-end training runs) run with --slow, as .ci/run does."""

import os

import pytest

# Under pytest-xdist (-n N) each worker, and every `gan` process it starts, gets its share of the
# cores: torch's default of one thread per core in every process oversubscribes the machine N-fold,
# which made parallel runs slower than serial ones here (2 cores). An explicit setting wins.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    os.environ.setdefault("MKL_NUM_THREADS", str(_share))


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (as .ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _drop_closed_log_handlers() -> None:
    import logging

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in list(getattr(logger, "handlers", ())):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """A run of an mlp takes one torch thread (device.fit_cpu_threads): the next test gets back
    what it had."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _no_stale_log_handlers():
    """A Hydra job run in-process configures logging handlers on the stream pytest captured for
    that test; under xdist a later test of the same worker would log into it once it is closed
    ("--- Logging error ---" on stderr). Such handlers are dropped around every test."""
    _drop_closed_log_handlers()
    yield
    _drop_closed_log_handlers()
