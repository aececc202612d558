from __future__ import annotations

from pathlib import Path

import pytest

from .fakes import write_idx_set


@pytest.fixture
def mnist_root(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "data"
    return root, write_idx_set(root / "MNIST" / "raw")
