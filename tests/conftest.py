"""Shared options: slow tests (end-to-end training runs) run with --slow, as .ci/run does."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (as .ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
