"""Files the evaluation keeps between runs: the trained classifier and the real split's features.

They live under <data.root>/gan_cli_cache/, next to the data they are computed from, named by the
data set and a digest of everything that determines their content. Anything else (a file from an
older recipe, a different n, other images in a folder) gets another name, so a cached file is
either exactly right or not found. Both are written with gan_cli.outputs.checkpoint.save (atomic) and read
with weights_only=True.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError

log = logging.getLogger("gan_cli.commands.eval")

FOLDER = "gan_cli_cache"


def data_identity(data_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config keys that decide which examples a data set holds (not where its files are)."""
    name = data_cfg["name"]
    identity: dict[str, Any] = {"name": name}
    if name == "folder":
        path = Path(os.path.expanduser(str(data_cfg["path"]))).resolve()
        identity.update(
            path=str(path), image_size=data_cfg.get("image_size", 64), channels=data_cfg.get("channels", 3)
        )
    elif name == "audio_folder":
        # which files, and the clips they decode to: another rate or length is another set
        path = Path(os.path.expanduser(str(data_cfg["path"]))).resolve()
        identity.update(
            path=str(path),
            sample_rate=data_cfg.get("sample_rate", 16000),
            length=data_cfg.get("length", 16384),
        )
    return identity


def digest(value: Any, length: int = 12) -> str:
    """A short stable hash of JSON-able data (and of bytes)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.sha1(value).hexdigest()[:length]
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def folder(data_cfg: Mapping[str, Any]) -> Path:
    root = data_cfg.get("root") or "data"
    return Path(os.path.expanduser(str(root))) / FOLDER


def load(path: Path) -> dict[str, Any] | None:
    """The cached payload, or None when it is absent or unreadable (then it is computed again)."""
    from gan_cli.outputs import checkpoint

    if not path.is_file():
        return None
    try:
        return checkpoint.load(path)
    except UserError as error:
        log.warning("ignoring the unreadable cache file %s (%s)", path, error)
        return None


def save(payload: dict[str, Any], path: Path) -> Path | None:
    """Write the payload; a read-only data folder only costs the next run the same work again."""
    from gan_cli.outputs import checkpoint

    try:
        return checkpoint.save(payload, path)
    except UserError as error:  # checkpoint.save's one line for a failed write (OSError inside)
        log.warning("cannot write the cache file %s (%s); it will be computed again next time", path, error)
        return None
