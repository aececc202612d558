"""One self-describing checkpoint format.

A checkpoint is a dict of plain data and tensors: it loads with torch.load(weights_only=True), so
opening a file never runs code from it. It carries the resolved config, so G can be rebuilt from
the file alone. It is written to a temporary file in the same folder, flushed to disk and renamed
into place: a kill or a full disk at any moment leaves the previous file intact.
"""

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli.errors import UserError

FORMAT_VERSION = 1


def save(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    path = Path(path)
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            torch.save({"format_version": FORMAT_VERSION, **payload}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:  # a full disk, a read-only or vanished folder: the user's to fix
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)
        kept = f"; the previous {path.name} is intact" if path.exists() else ""
        raise UserError(f"could not write checkpoint {path}: {error.strerror or error}{kept}") from error
    except BaseException:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated, not a torch file, or holding pickled code
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"{path} is not a loadable gan_cli checkpoint ({reason[:200]})") from error
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise UserError(f"{path} is not a gan_cli checkpoint (no format_version)")
    if payload["format_version"] > FORMAT_VERSION:
        raise UserError(
            f"{path} has checkpoint format {payload['format_version']}, newer than this gan_cli "
            f"reads ({FORMAT_VERSION}); upgrade gan_cli"
        )
    return payload


def rng_state() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy and python as tensors and plain lists."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "python": {"version": py_version, "state": list(py_state), "gauss": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["gauss"],
        )
    )
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
