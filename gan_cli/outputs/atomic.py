"""The one atomic write of gan_cli: a file appears whole under its name, or not at all.

    with atomic.replacing(path) as tmp:     # tmp: a new file beside `path`, same suffix
        torch.save(payload, tmp)            # or PIL's save, numpy's memmap, a download, ...
    atomic.write_text(path, text)

The content goes to a hidden temporary file in the same folder (a rename is atomic only within one
file system), is flushed to the disk (fsync: after a power cut the new name must not point at an
empty file), then renamed over `path`. If the block raises (a kill, a full disk), the temporary
file is removed and `path` keeps its previous content. Errors propagate unchanged: each caller
turns them into its own one-line message.

Each temporary file has a name of its own, so two processes writing one path (two evaluations
adding to one eval.json) never write into the same partial file. It keeps the target's suffix
because some writers pick the format from it (PIL) or append one when it is missing (numpy).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial"  # in every temporary file's name: `*.partial*` finds what a crash left


def _temporary_beside(path: Path) -> Path:
    """Create (exclusively) an empty file beside path. Made with os.open's default mode, so the
    umask applies as for any other file (tempfile.mkstemp would leave the result private, 0600)."""
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{PARTIAL}{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - 32 random bits taken: draw again
            continue


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """The temporary path to write; renamed over `path` when the block ends without an error."""
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)
