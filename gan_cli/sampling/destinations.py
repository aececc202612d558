"""Where `gan sample` writes, decided (and refused where it cannot be) before any sampling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError

SUFFIX = {"grid": ".png", "scatter": ".png", "gif": ".gif", "npy": ".npy"}
VIEW_ROLES = ("grid", "scatter")  # the roles that hold the data kind's view (DataKind.view) as a PNG
# The roles that are folders of one file per sample, and what each holds (for out= messages).
FOLDER_ROLES = {"folder": "one PNG per sample", "wav": "one .wav file per clip (and a spectrogram grid)"}


def plan_outputs(cfg: Any, kind: Any, run_dir: str | os.PathLike | None) -> dict[str, Path]:
    """What is written where: role -> path, main output first. The data kind (a DataKind or its
    name) says which roles there are (DataKind.output_roles: "grid", "gif", "folder", "wav",
    "npy", "scatter"); "folder" and "wav" are folders.

    out=<name>.png / <name>.npy names the main file and the others take its stem (walk.png and
    walk.gif); any other name with a suffix (x.jpg) is a file name too, and refused, so that no
    folder is ever called x.jpg; a name without one, an existing folder or one ending in `/` is a
    folder. Without out= the files go into run_dir.
    """
    from gan_cli.data import kinds

    kind = kinds.kind_named(kind) if isinstance(kind, str) else kind
    roles = kind.output_roles(cfg.format, bool(cfg.interpolate), bool(cfg.gif))
    stem = "interpolation" if cfg.interpolate else "samples"

    if cfg.out is None:
        if run_dir is None:
            raise ValueError("sampling.run needs out= in the config or a run_dir")
        folder, own_folder = Path(run_dir), False
    else:
        out = Path(os.path.expanduser(str(cfg.out)))
        folder, own_folder = out, True
        if out.suffix and not out.is_dir() and not str(cfg.out).endswith(os.sep):
            what = "interpolate=true" if cfg.interpolate else f"format={cfg.format}"
            folders = [role for role in roles if role in FOLDER_ROLES]
            if folders:
                raise UserError(
                    f"out={cfg.out}: {what} writes {FOLDER_ROLES[folders[0]]} into a folder; "
                    "give out=<folder> (or out=<name.x>/ for a dotted name)"
                )
            allowed = sorted({SUFFIX[role] for role in roles if role != "gif"})
            if out.suffix.lower() not in allowed:
                raise UserError(
                    f"out={cfg.out}: {what} writes a {' and a '.join(allowed)} file; "
                    f"give out=<name>{allowed[0]}, or out=<folder>/ for a folder"
                )
            folder, stem, own_folder = out.parent, out.stem, False
        elif out.exists() and not out.is_dir():
            raise UserError(f"out={cfg.out} is a file; give a new name, a folder, or <name>.png / <name>.npy")

    paths = {}
    for role in roles:
        if role in FOLDER_ROLES:
            # out=<folder> holds the samples themselves; a run folder keeps them in samples/.
            paths[role] = folder if own_folder else folder / stem
        else:
            paths[role] = folder / f"{stem}{SUFFIX[role]}"
    return paths
